/**
 * effect-mm2 as a library: the whole replicator as an Effect, or as a Layer another Effect
 * program can merge into its own graph (`Mm2.layerFromFile("mm2.properties")`), which provides
 * a Replicator handle to await or inspect.
 */
import { Deferred, Effect, Layer, Ref } from "effect"
import type { Mm2Settings } from "./config/Mm2Config.js"
import * as Mm2Config from "./config/Mm2Config.js"
import { type FlowFailure, type FlowsFailed, runHerders } from "./herder/Herders.js"
import { KafkaClient } from "./kafka/KafkaClient.js"
import * as KafkaJsClient from "./kafka/KafkaJsClient.js"
import { Replicator } from "./Replicator.js"
import { TaskRegistry } from "./supervision/TaskRegistry.js"

/** `run`, reporting task states into the TaskRegistry it is given. */
export const runWith = (settings: Mm2Settings, onStopped?: (failure: FlowFailure) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    for (const w of settings.warnings) yield* Effect.logWarning(w)
    yield* Effect.logInfo(
      `Starting with ${settings.flows.length} enabled replication flows: [${settings.flows.map((f) => f.name).join(", ")}]`
    )
    yield* Effect.logInfo(`Starting ${settings.herderPairs.length} herders: [${settings.herderPairs.map((h) => h.settings.name).join(", ")}]`)
    return yield* runHerders(settings.herderPairs, onStopped)
  })

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
      const ended = yield* Deferred.make<void, FlowsFailed>()
      const stopped = yield* Ref.make<ReadonlyArray<FlowFailure>>([])
      const registry = yield* TaskRegistry.make
      yield* runWith(settings, (f) => Ref.update(stopped, (fs) => [...fs, f])).pipe(
        Effect.provideService(TaskRegistry, registry),
        Effect.intoDeferred(ended),
        Effect.forkScoped
      )
      return {
        await: Deferred.await(ended),
        stoppedFlows: Ref.get(stopped),
        tasks: registry.all,
        taskChanges: registry.changes
      }
    })
  )

/** The replicator as a background Layer on the default (kafkajs) client. */
export const layer = (settings: Mm2Settings): Layer.Layer<Replicator> =>
  layerWith(settings).pipe(Layer.provide(KafkaJsClient.layer))

/** Reads and validates an mm2.properties file, then runs it as a background Layer. */
export const layerFromFile = (file: string, options: { readonly clusters?: ReadonlyArray<string> } = {}) =>
  Layer.unwrapEffect(Effect.map(Mm2Config.load(file, options), layer))

export { KafkaClient, Replicator }
