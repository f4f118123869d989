/**
 * The command line, shaped like Java MM2's driver (`connect-mirror-maker.sh mm2.properties
 * --clusters B`): the file as the first argument, or as `--config`.
 */
import { Args, Command, Options } from "@effect/cli"
import { Cause, Console, Data, Effect, Layer, Option } from "effect"
import * as Mm2 from "../Mm2.js"
import * as Mm2Config from "../config/Mm2Config.js"
import * as KafkaJsClient from "../kafka/KafkaJsClient.js"
import * as Telemetry from "../telemetry/Telemetry.js"
import * as TranslateOffsets from "./TranslateOffsets.js"

/** The command line itself is unusable (no file, or two). */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

const configOption = Options.text("config").pipe(
  Options.withAlias("c"),
  Options.optional,
  Options.withDescription(
    "the MirrorMaker 2 properties file (same format and keys as Java MM2's mm2.properties); " +
      "it may also be given as the first argument, as connect-mirror-maker.sh takes it"
  )
)

const configArg = Args.text({ name: "mm2.properties" }).pipe(
  Args.withDescription("the MirrorMaker 2 properties file, when --config is not given"),
  Args.optional
)

const clusters = Options.text("clusters").pipe(
  Options.optional,
  Options.withDescription(
    "comma-separated aliases: run only the flows whose TARGET is one of them (as MM2's --clusters); default: all"
  )
)

const validate = Options.boolean("validate").pipe(
  Options.withDescription(
    "check the file (every key, client setting, filter regex and PEM file) and the OTEL_* variables, " +
      "print the resolved flows and their effective settings, then exit without connecting (exit 1 on any problem)"
  )
)

const DESCRIPTION =
  "Replicates Kafka topics between clusters as Apache Kafka MirrorMaker 2 does, configured by the same mm2.properties.\n" +
  "Usage: effect-mm2 mm2.properties [--clusters B] | effect-mm2 --config mm2.properties [--validate].\n" +
  "Environment: OTEL_EXPORTER_OTLP_ENDPOINT (an http(s) URL) turns on OpenTelemetry export (traces and metrics over OTLP/HTTP); " +
  "OTEL_SERVICE_NAME names the service (default effect-mm2)."

/** Printed for a command line without a file. */
const USAGE = [
  "Usage: effect-mm2 mm2.properties [--clusters ALIAS,...] [--validate] [--log-level LEVEL]",
  "       effect-mm2 --config mm2.properties [--clusters ALIAS,...] [--validate] [--log-level LEVEL]",
  "       effect-mm2 --help"
].join("\n")

/** The file from the argument or --config; exactly one of them. */
const configFile = (option: Option.Option<string>, arg: Option.Option<string>): Effect.Effect<string, UsageError> => {
  if (Option.isSome(option) && Option.isSome(arg) && option.value !== arg.value) {
    return Effect.fail(
      new UsageError({ message: `two configuration files given (${arg.value} and --config ${option.value}); give one` })
    )
  }
  const file = Option.orElse(option, () => arg)
  if (Option.isNone(file)) {
    return Console.error(USAGE).pipe(
      Effect.zipRight(
        Effect.fail(
          new UsageError({ message: "no configuration file given: effect-mm2 mm2.properties, or effect-mm2 --config mm2.properties" })
        )
      )
    )
  }
  return Effect.succeed(file.value)
}

export const command = Command.make("effect-mm2", { config: configOption, file: configArg, clusters, validate }, (args) =>
  Effect.gen(function*() {
    const file = yield* configFile(args.config, args.file)
    const selected = Option.map(args.clusters, (s) => s.split(/[\s,]+/).filter((x) => x.length > 0))
    const settings = yield* Mm2Config.load(file, Option.isSome(selected) ? { clusters: selected.value } : {})
    // checked here too, so --validate rejects what start-up would
    yield* Telemetry.settings
    if (args.validate) {
      yield* Console.log(Mm2Config.describe(settings))
      return
    }
    yield* Mm2.run(settings).pipe(
      Effect.provide(Layer.merge(KafkaJsClient.layer, Telemetry.layer))
    )
  }).pipe(
    // a defect is printed as one line by main.ts; its stack trace is there for --log-level debug
    Effect.tapErrorCause((cause) =>
      Cause.isInterruptedOnly(cause) || Cause.isFailType(cause) ? Effect.void : Effect.logDebug(Cause.pretty(cause))
    )
  )).pipe(Command.withDescription(DESCRIPTION))

const runCli = Command.run(command.pipe(Command.withSubcommands([TranslateOffsets.command])), {
  name: "effect-mm2",
  version: "0.1.0"
})

/**
 * @effect/cli reads its built-in `--log-level` only before the command's own options (after
 * `--config FILE` it is taken for a subcommand); users put it anywhere, so it is moved first.
 */
export const hoistLogLevel = (argv: ReadonlyArray<string>): ReadonlyArray<string> => {
  const [node = "node", script = "main.js", ...rest] = argv
  const hoisted: Array<string> = []
  const others: Array<string> = []
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!
    if (a === "--") {
      others.push(...rest.slice(i))
      break
    }
    if (a.startsWith("--log-level=")) hoisted.push(a)
    else if (a === "--log-level" && i + 1 < rest.length) hoisted.push(a, rest[++i]!)
    else others.push(a)
  }
  return [node, script, ...hoisted, ...others]
}

export const run = (argv: ReadonlyArray<string>) => runCli(hoistLogLevel(argv))
