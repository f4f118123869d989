/**
 * The command line, shaped like Java MM2's driver (`connect-mirror-maker.sh mm2.properties
 * --clusters B`) but with a named `--config` option.
 */
import { Command, Options } from "@effect/cli"
import { Console, Effect, Layer, Option } from "effect"
import * as Mm2 from "../Mm2.js"
import * as Mm2Config from "../config/Mm2Config.js"
import * as KafkaJsClient from "../kafka/KafkaJsClient.js"
import * as Telemetry from "../telemetry/Telemetry.js"

const config = Options.file("config", { exists: "yes" }).pipe(
  Options.withAlias("c"),
  Options.withDescription("the MirrorMaker 2 properties file (same format and keys as Java MM2's mm2.properties)")
)

const clusters = Options.text("clusters").pipe(
  Options.optional,
  Options.withDescription(
    "comma-separated aliases: run only the flows whose TARGET is one of them (as MM2's --clusters); default: all"
  )
)

const validate = Options.boolean("validate").pipe(
  Options.withDescription("print the resolved flows and their effective settings, then exit without connecting")
)

export const command = Command.make("effect-mm2", { config, clusters, validate }, (args) =>
  Effect.gen(function*() {
    const selected = Option.map(args.clusters, (s) => s.split(/[\s,]+/).filter((x) => x.length > 0))
    const settings = yield* Mm2Config.load(
      args.config,
      Option.isSome(selected) ? { clusters: selected.value } : {}
    )
    if (args.validate) {
      yield* Console.log(Mm2Config.describe(settings))
      return
    }
    yield* Mm2.run(settings).pipe(
      Effect.provide(Layer.merge(KafkaJsClient.layer, Telemetry.layer))
    )
  })).pipe(
    Command.withDescription(
      "Replicates Kafka topics between clusters as Apache Kafka MirrorMaker 2 does, configured by the same mm2.properties.\n" +
        "Environment: OTEL_EXPORTER_OTLP_ENDPOINT turns on OpenTelemetry export (traces and metrics over OTLP/HTTP); " +
        "OTEL_SERVICE_NAME names the service (default effect-mm2)."
    )
  )

export const run = Command.run(command, { name: "effect-mm2", version: "0.1.0" })
