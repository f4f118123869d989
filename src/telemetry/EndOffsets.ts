/**
 * Reads the end offset of every source partition a reader session replicates, at its start and
 * then every END_OFFSETS_INTERVAL: fetch responses carry the end offset too, but only for
 * partitions that are fetched, so without this a partition with nothing new (or a reader paused
 * by a slow target) would never show how far behind it is. One ListOffsets per topic and one
 * OffsetFetch per round; never fails the session (a failed read is tried at the next round).
 */
import { Clock, Duration, Effect, Schedule } from "effect"
import type { KafkaAdmin } from "../kafka/KafkaClient.js"
import type { KafkaError } from "../kafka/KafkaError.js"
import * as Progress from "./Progress.js"

export const END_OFFSETS_INTERVAL = Duration.seconds(10)

export interface EndOffsetsInput {
  readonly flow: { readonly name: string; readonly source: string; readonly target: string }
  readonly topics: ReadonlyArray<string>
  readonly remoteOf: (topic: string) => string
  readonly progressGroupId: string
  readonly reset: "earliest" | "latest" | "none"
}

/** One read of every partition's end offset, and the committed position of those not yet replicated here. */
export const readOnce = (admin: Effect.Effect<KafkaAdmin, KafkaError>, input: EndOffsetsInput) =>
  Effect.gen(function*() {
    const a = yield* admin
    const committed = new Map(
      (yield* a.fetchGroupOffsets(input.progressGroupId, input.topics)).map((c) => [`${c.topic}\u0000${c.partition}`, BigInt(c.offset)])
    )
    const partitions: Array<Parameters<typeof Progress.observedEnds>[1][number]> = []
    for (const topic of input.topics) {
      for (const o of yield* a.fetchTopicOffsets(topic)) {
        const c = committed.get(`${topic}\u0000${o.partition}`)
        const start = c !== undefined && c >= 0n ? c : input.reset === "latest" ? BigInt(o.high) : BigInt(o.low)
        partitions.push({ topic, remoteTopic: input.remoteOf(topic), partition: o.partition, end: BigInt(o.high), start })
      }
    }
    yield* Progress.observedEnds(input.flow, partitions, yield* Clock.currentTimeMillis)
  })

/** `readOnce` now and every END_OFFSETS_INTERVAL, forever; failures are logged at debug and retried next round. */
export const follow = (admin: Effect.Effect<KafkaAdmin, KafkaError>, input: EndOffsetsInput) =>
  readOnce(admin, input).pipe(
    Effect.catchAll((e) => Effect.logDebug(`${input.flow.name}: reading source end offsets failed (tried again): ${e.message}`)),
    Effect.repeat(Schedule.spaced(END_OFFSETS_INTERVAL)),
    Effect.asVoid
  )
