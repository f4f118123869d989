/**
 * effect-mm2 as a library: the whole replicator as an Effect, or as a Layer another Effect
 * program can merge into its own graph (`Mm2.layerFromFile("mm2.properties")`), which provides
 * a Replicator handle to await, observe and control.
 */
import { Effect, Either, Layer } from "effect"
import { ConfigError, type InvalidConfig } from "./config/ConfigError.js"
import type { Mm2Settings } from "./config/Mm2Config.js"
import * as Mm2Config from "./config/Mm2Config.js"
import * as Properties from "./config/Properties.js"
import { type FlowFailure, runHerders, stopLines } from "./herder/Herders.js"
import { KafkaClient } from "./kafka/KafkaClient.js"
import * as KafkaJsClient from "./kafka/KafkaJsClient.js"
import { Replicator } from "./Replicator.js"
import * as ReplicatorControl from "./ReplicatorControl.js"
import { TaskRegistry } from "./supervision/TaskRegistry.js"

/**
 * The start-up lines, the same for the CLI and an embedded replicator. Worded as MM2's (spec
 * 11.4) where they mean the same, so what watches MM2's log finds them. The herders log
 * "started" and the stop lines (Herders.ts). Never a dump of the properties: they hold secrets.
 */
const announce = (settings: Mm2Settings) =>
  Effect.gen(function*() {
    yield* Effect.logInfo(`Kafka MirrorMaker initializing with ${settings.file}`)
    for (const w of settings.warnings) yield* Effect.logWarning(w)
    const targets = [...new Set(settings.herderPairs.map((h) => h.target))]
    yield* Effect.logInfo(`Targeting clusters [${targets.join(", ")}]`)
    yield* Effect.logInfo(
      `Starting with ${settings.flows.length} enabled replication flows: [${settings.flows.map((f) => f.name).join(", ")}]`
    )
    yield* Effect.logInfo(
      `Kafka MirrorMaker starting with ${settings.herderPairs.length} herders: [${settings.herderPairs.map((h) => h.settings.name).join(", ")}]`
    )
  })

/** @internal `run`, reporting task states into the TaskRegistry it is given (the CLI's tests use it). */
export const runWith = (settings: Mm2Settings, onStopped?: (failure: FlowFailure) => Effect.Effect<void>) =>
  Effect.zipRight(announce(settings), runHerders(settings.herderPairs, onStopped, { lifecycle: true }))

/**
 * Runs every herder (replication flows and heartbeat-only pairs) until interrupted, or until
 * every replication task stopped on a fatal error (FlowsFailed). `onStopped` hears of each
 * flow that stops fatally, as it happens.
 */
export const run = (settings: Mm2Settings, onStopped?: (failure: FlowFailure) => Effect.Effect<void>) =>
  runWith(settings, onStopped).pipe(Effect.provideServiceEffect(TaskRegistry, TaskRegistry.make))

/** The replicator as a background Layer, using the given KafkaClient; stops when its scope closes. */
export const layerWith = (settings: Mm2Settings): Layer.Layer<Replicator, never, KafkaClient> =>
  Layer.scoped(
    Replicator,
    Effect.gen(function*() {
      yield* announce(settings)
      // herders run one by one there (each can be stopped alone): the stop lines are said here
      const stopping = yield* stopLines
      const replicator = yield* ReplicatorControl.make(settings)
      yield* stopping(Effect.succeed(""))
      return replicator
    })
  )

/** The replicator as a background Layer on the default (kafkajs) client. */
export const layer = (settings: Mm2Settings): Layer.Layer<Replicator> =>
  layerWith(settings).pipe(Layer.provide(KafkaJsClient.layer))

/** Reads and validates an mm2.properties file, then runs it as a background Layer. */
export const layerFromFile = (
  file: string,
  options: { readonly clusters?: ReadonlyArray<string> } = {}
): Layer.Layer<Replicator, InvalidConfig | ConfigError> => Layer.unwrapEffect(Effect.map(Mm2Config.load(file, options), layer))

export interface PropertiesOptions {
  /** names the configuration in messages (as a file name would); `mm2.properties` if absent */
  readonly name?: string
  /** as the CLI's `--clusters`: only herders whose target is listed */
  readonly clusters?: ReadonlyArray<string>
  /** for `${env:NAME}` references; `process.env` if absent */
  readonly env?: Readonly<Record<string, string | undefined>>
}

/**
 * Validates a configuration given as the text of an mm2.properties file or as its keys and
 * values, into the typed settings `layer` takes (every problem at once in `InvalidConfig`).
 */
export const settingsFromProperties = (
  properties: string | Readonly<Record<string, string>>,
  options: PropertiesOptions = {}
): Effect.Effect<Mm2Settings, InvalidConfig | ConfigError> => {
  const file = options.name ?? "mm2.properties"
  const parsed = typeof properties === "string"
    ? Either.mapLeft(
      Properties.parseEither(properties),
      (reason) => new ConfigError({ file, key: "", message: `malformed properties: ${reason}` })
    )
    : Either.right(new Map(Object.entries(properties)))
  return Either.flatMap(parsed, (raw) => Mm2Config.resolve(raw, { file, clusters: options.clusters, env: options.env }))
}

/** `settingsFromProperties`, then runs them as a background Layer. */
export const layerFromProperties = (
  properties: string | Readonly<Record<string, string>>,
  options: PropertiesOptions = {}
): Layer.Layer<Replicator, InvalidConfig | ConfigError> =>
  Layer.unwrapEffect(Effect.map(settingsFromProperties(properties, options), layer))

export { KafkaClient, Replicator }
