/**
 * effect-mm2 as a library: the whole replicator as an Effect, or as a Layer another Effect
 * program can merge into its own graph (`Mm2.layerFromFile("mm2.properties")`).
 */
import { Effect, Layer } from "effect"
import type { Mm2Settings } from "./config/Mm2Config.js"
import * as Mm2Config from "./config/Mm2Config.js"
import { runFlows } from "./flow/FlowSupervisor.js"
import { KafkaClient } from "./kafka/KafkaClient.js"
import * as KafkaJsClient from "./kafka/KafkaJsClient.js"

/** Runs every enabled flow until interrupted (or until all of them stopped on fatal errors). */
export const run = (settings: Mm2Settings) =>
  Effect.gen(function*() {
    for (const w of settings.warnings) yield* Effect.logWarning(w)
    yield* Effect.logInfo(
      `Starting with ${settings.flows.length} enabled replication flows: [${settings.flows.map((f) => f.name).join(", ")}]`
    )
    return yield* runFlows(settings.flows)
  })

/** The replicator as a background Layer, using the given KafkaClient. */
export const layerWith = (settings: Mm2Settings): Layer.Layer<never, never, KafkaClient> =>
  Layer.scopedDiscard(Effect.forkScoped(run(settings).pipe(Effect.catchAll((e) => Effect.logError(e.message)))))

/** The replicator as a background Layer on the default (kafkajs) client. */
export const layer = (settings: Mm2Settings): Layer.Layer<never> =>
  layerWith(settings).pipe(Layer.provide(KafkaJsClient.layer))

/** Reads and validates an mm2.properties file, then runs it as a background Layer. */
export const layerFromFile = (file: string, options: { readonly clusters?: ReadonlyArray<string> } = {}) =>
  Layer.unwrapEffect(Effect.map(Mm2Config.load(file, options), layer))

export { KafkaClient }
