/**
 * The command line, shaped like Java MM2's driver (`connect-mirror-maker.sh mm2.properties
 * --clusters B`): the file as the first argument, or as `--config`.
 */
import { Args, Command, Options } from "@effect/cli"
import { Cause, Console, Data, Effect, Layer, LogLevel, Option } from "effect"
import * as Mm2Config from "../config/Mm2Config.js"
import * as KafkaJsClient from "../kafka/KafkaJsClient.js"
import * as Logging from "../telemetry/Logging.js"
import * as Telemetry from "../telemetry/Telemetry.js"
import * as Serve from "../http/Serve.js"
import * as Status from "./Status.js"
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

/**
 * Declared for --help and for @effect/cli to reject a wrong value; the logger itself is chosen
 * from the command line by `logSettings` (in main.ts), before parsing, so that it covers every
 * subcommand and the lines logged around the command.
 */
const logFormat = Options.choice("log-format", Logging.LOG_FORMATS).pipe(
  Options.withDefault("text" as const),
  Options.withDescription(
    "text (default): one line per entry, `<ISO date-time> LEVEL [herder task] message key=value`; " +
      "json: one JSON object per line (timestamp, level, message, annotations, fiber, cause). " +
      "ERROR lines go to stderr, the others to stdout. May be given anywhere on the command line"
  )
)

const DESCRIPTION =
  "Replicates Kafka topics between clusters as Apache Kafka MirrorMaker 2 does, configured by the same mm2.properties.\n" +
  "Usage: effect-mm2 mm2.properties [--clusters B] [--http-port N] | effect-mm2 --config mm2.properties [--validate] | " +
  "effect-mm2 status --http-port N | effect-mm2 translate-offsets --config F --group G --source A --target B.\n" +
  "Environment: OpenTelemetry export (traces and metrics over OTLP/HTTP, protobuf or JSON) is on when OTEL_EXPORTER_OTLP_ENDPOINT " +
  "or a signal-specific endpoint is set; OTEL_SERVICE_NAME names the service (default effect-mm2); OTEL_SDK_DISABLED=true turns it off."

/** Printed for a command line without a file. */
const USAGE = [
  "Usage: effect-mm2 mm2.properties [--clusters ALIAS,...] [--validate] [--log-level LEVEL] [--log-format text|json] [--http-port N [--http-host H]]",
  "       effect-mm2 --config mm2.properties [--clusters ALIAS,...] [--validate] [--log-level LEVEL] [--log-format text|json] [--http-port N [--http-host H]]",
  "       effect-mm2 status --http-port N [--http-host H]",
  "       effect-mm2 translate-offsets --config mm2.properties --group G --source A --target B [--apply] [--reverse]",
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

export const command = Command.make("effect-mm2", {
  config: configOption,
  file: configArg,
  clusters,
  validate,
  logFormat,
  httpPort: Status.httpPort,
  httpHost: Status.httpHost
}, (args) =>
  Effect.gen(function*() {
    const file = yield* configFile(args.config, args.file)
    const selected = Option.map(args.clusters, (s) => s.split(/[\s,]+/).filter((x) => x.length > 0))
    const settings = yield* Mm2Config.load(file, Option.isSome(selected) ? { clusters: selected.value } : {})
    // checked here too, so --validate rejects what start-up would
    yield* Telemetry.settings
    const http = yield* Status.httpSettings(args.httpPort, args.httpHost, settings.properties)
    if (args.validate) {
      yield* Console.log(Mm2Config.describe(settings))
      return
    }
    yield* Serve.run(settings, http).pipe(
      Effect.provide(Layer.merge(KafkaJsClient.layer, Telemetry.layer))
    )
  }).pipe(
    // a defect is printed as one line by main.ts; its stack trace is there for --log-level debug
    Effect.tapErrorCause((cause) =>
      Cause.isInterruptedOnly(cause) || Cause.isFailType(cause) ? Effect.void : Effect.logDebug(Cause.pretty(cause))
    )
  )).pipe(Command.withDescription(DESCRIPTION))

const runCli = Command.run(command.pipe(Command.withSubcommands([TranslateOffsets.command, Status.command])), {
  name: "effect-mm2",
  version: "0.1.0"
})

/** Options taken anywhere on the command line (each with a value), moved first by `hoistLogLevel`. */
const HOISTED = ["--log-level", "--log-format"] as const

/**
 * @effect/cli reads its built-in `--log-level` only before the command's own options (after
 * `--config FILE` it is taken for a subcommand), and the root command's `--log-format` only
 * before a subcommand's name; users put them anywhere, so they are moved first.
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
    if (HOISTED.some((o) => a.startsWith(`${o}=`))) hoisted.push(a)
    else if ((HOISTED as ReadonlyArray<string>).includes(a) && i + 1 < rest.length) hoisted.push(a, rest[++i]!)
    else others.push(a)
  }
  return [node, script, ...hoisted, ...others]
}

/** @effect/cli's `--log-level` names. */
const LEVELS: Readonly<Record<string, LogLevel.LogLevel>> = {
  all: LogLevel.All,
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal,
  none: LogLevel.None
}

export interface LogSettings {
  readonly format: Logging.LogFormat
  readonly level: LogLevel.LogLevel
}

/**
 * `--log-format` and `--log-level` read from the raw command line (the last of each wins), so
 * the process can set up its logger before @effect/cli parses anything. A value that is not
 * valid falls back to the default here and is reported by @effect/cli's own parsing.
 */
export const logSettings = (argv: ReadonlyArray<string>): LogSettings => {
  let format: Logging.LogFormat = "text"
  let level: LogLevel.LogLevel = LogLevel.Info
  const end = argv.indexOf("--")
  const args = end === -1 ? argv : argv.slice(0, end)
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    const [name, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined]
    if (name !== "--log-format" && name !== "--log-level") continue
    const value = inline ?? args[++i]
    if (value === undefined) break
    if (name === "--log-format") {
      const f = Logging.LOG_FORMATS.find((x) => x === value)
      if (f !== undefined) format = f
    } else {
      if (Object.hasOwn(LEVELS, value)) level = LEVELS[value]!
    }
  }
  return { format, level }
}

export const run = (argv: ReadonlyArray<string>) => runCli(hoistLogLevel(argv))
