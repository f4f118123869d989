/**
 * A consumer application for failover drills: a real consumer in a consumer group (through our
 * KafkaClient, on the real brokers) that processes records one by one, commits after each batch
 * what it processed, and stops at a chosen point. What it processed is returned, so a drill can
 * check that the application saw every record exactly once across a failover.
 */
import { Deferred, Duration, Effect, Exit, Fiber } from "effect"
import { connectionSettings } from "../../../src/kafka/ClientSettings.js"
import { KafkaClient } from "../../../src/kafka/KafkaClient.js"
import * as KafkaJsClient from "../../../src/kafka/KafkaJsClient.js"
import type { TopicPartitionOffset } from "../../../src/kafka/KafkaRecord.js"
import { endOffsets, groupOffsets } from "./kafka.js"

export interface Processed {
  readonly partition: number
  readonly offset: number
  /** the record's value, as text: what identifies it across clusters */
  readonly value: string
}

export interface RunResult {
  readonly processed: ReadonlyArray<Processed>
  /** the group's committed offsets when it stopped, index = partition */
  readonly committed: ReadonlyArray<number>
}

/**
 * Runs group `group` on `topic` of `bs` until it stops:
 * - `{ records: n }`: after processing exactly n records (the rest of the batch is not processed);
 * - `"end"`: once it has processed up to the log end each partition had when it started.
 * With no committed offset a partition starts at its beginning.
 */
export const runApplication = (
  bs: string,
  group: string,
  topic: string,
  stop: { readonly records: number } | "end",
  options: { readonly readCommitted?: boolean; readonly timeout?: Duration.DurationInput } = {}
): Effect.Effect<RunResult, Error> =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    const conn = yield* Effect.orDie(connectionSettings("it", new Map([["bootstrap.servers", bs]]), `it-app-${group}`))
    const ends = stop === "end" ? yield* endOffsets(bs, topic) : []
    const processed: Array<Processed> = []
    // where the group stands now (a partition already at its end has nothing left to read)
    const committed: Array<number> = [...(yield* groupOffsets(bs, group, topic))]
    const done = yield* Deferred.make<void>()
    const reachedEnd = () => ends.every((end, p) => end === 0 || (committed[p] ?? -1) >= end)
    if (stop === "end" && reachedEnd()) yield* Deferred.succeed(done, undefined)
    const consumer = yield* kafka.consumer(conn, {
      groupId: group,
      topics: [topic],
      fromBeginning: true,
      partitionsConsumedConcurrently: 1,
      ...(options.readCommitted === true ? { readCommitted: true } : {})
    })
    const onBatch = (batch: { partition: number; records: ReadonlyArray<{ offset: string; value: Buffer | null }> }) =>
      Effect.gen(function*() {
        if (yield* Deferred.isDone(done)) return
        let next: number | undefined
        for (const r of batch.records) {
          if (stop !== "end" && processed.length >= stop.records) break
          processed.push({ partition: batch.partition, offset: Number(r.offset), value: r.value?.toString("utf8") ?? "<null>" })
          next = Number(r.offset) + 1
        }
        if (next !== undefined) {
          const offsets: Array<TopicPartitionOffset> = [{ topic, partition: batch.partition, offset: String(next) }]
          yield* Effect.orDie(consumer.commit(offsets))
          committed[batch.partition] = next
        }
        if ((stop !== "end" && processed.length >= stop.records) || (stop === "end" && reachedEnd())) {
          yield* Deferred.done(done, Exit.void)
        }
      })
    const running = yield* Effect.fork(consumer.start(onBatch))
    yield* Effect.raceFirst(Deferred.await(done), consumer.crashed).pipe(
      Effect.timeoutFail({
        duration: options.timeout ?? "60 seconds",
        onTimeout: () =>
          new Error(
            `application ${group} on ${topic} (${bs}) did not reach its stop (${stop === "end" ? `ends ${ends.join(",")}` : `${stop.records} records`}); ` +
              `processed ${processed.length}, committed ${committed.join(",")}`
          )
      })
    )
    yield* consumer.stop
    yield* Fiber.interrupt(running)
    return { processed, committed: Array.from(committed, (c) => c ?? -1) }
  }).pipe(Effect.scoped, Effect.provide(KafkaJsClient.layer))
