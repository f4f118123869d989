/**
 * Helpers of the failover drills (failoverDrills.test.ts): counting what an application
 * processed across a failover against what it had to process, reading a topic to its end when
 * its offsets have gaps, reading checkpoints, and an application that consumes continuously.
 */
import { Deferred, Duration, Effect, Either, Exit, Fiber, type Scope } from "effect"
import { connectionSettings } from "../../../src/kafka/ClientSettings.js"
import { KafkaClient } from "../../../src/kafka/KafkaClient.js"
import * as KafkaJsClient from "../../../src/kafka/KafkaJsClient.js"
import * as Checkpoint from "../../../src/wire/Checkpoint.js"
import type { Processed } from "./application.js"
import { endOffsets, flowProps, freshGroup, readEverything, type Replicator, startReplicator } from "./kafka.js"

/** Checkpoints every second, written into the target groups every second. */
export const SYNC_EVERY_SECOND: Readonly<Record<string, string>> = {
  "emit.checkpoints.interval.seconds": "1",
  "sync.group.offsets.enabled": "true",
  "sync.group.offsets.interval.seconds": "1"
}

export interface Drill {
  readonly id: string
  readonly primary: string
  readonly backup: string
  /** source alias (primary) */
  readonly p: string
  /** target alias (backup) */
  readonly b: string
  readonly topic: string
  /** `${p}.${topic}` on backup */
  readonly remote: string
}

/** The flow p->b for `topic`, with SYNC_EVERY_SECOND and `extra` on top. */
export const drillProps = (d: Drill, extra: Readonly<Record<string, string>> = {}): Record<string, string> =>
  flowProps({
    source: d.p,
    target: d.b,
    sourceBootstrap: d.primary,
    targetBootstrap: d.backup,
    topics: d.topic,
    extra: { ...SYNC_EVERY_SECOND, ...extra }
  })

export const replicate = (d: Drill, extra: Readonly<Record<string, string>> = {}): Effect.Effect<Replicator, Error, Scope.Scope> =>
  startReplicator(drillProps(d, extra))

export interface Tally {
  /** values processed more than once (each counted once) */
  readonly reRead: number
  /** values that had to be processed and never were */
  readonly skipped: number
  /** values processed that are not in the expected set (e.g. aborted records) */
  readonly foreign: number
}

/**
 * Counts, over every leg of a drill, the expected values processed twice or more, never, and
 * values processed that were not expected at all; prints the counts with `label`.
 */
export const tally = (
  label: string,
  expected: ReadonlyArray<string>,
  legs: ReadonlyArray<ReadonlyArray<Processed>>
): Tally => {
  const counts = new Map<string, number>()
  for (const leg of legs) for (const r of leg) counts.set(r.value, (counts.get(r.value) ?? 0) + 1)
  const wanted = new Set(expected)
  let reRead = 0
  let foreign = 0
  for (const [v, n] of counts) {
    if (!wanted.has(v)) foreign++
    else if (n > 1) reRead++
  }
  const skipped = expected.filter((v) => !counts.has(v)).length
  const processed = legs.map((l) => l.length)
  console.log(
    `[failover drills] ${label}: ${expected.length} records, processed ${processed.join(" + ")} -> ` +
      `re-read ${reRead}, skipped ${skipped}, foreign ${foreign}`
  )
  return { reRead, skipped, foreign }
}

export interface SeenRecord {
  readonly partition: number
  readonly offset: number
  readonly value: string
}

/**
 * Reads `topic` from the beginning with a fresh group until every partition delivered its last
 * record (the one at log end - 1, which compaction never removes; not for transactional topics,
 * whose last offset is a marker). Returns the records per partition in offset order.
 */
export const readToEnd = (
  bs: string,
  topic: string,
  timeout: Duration.DurationInput = "60 seconds"
): Effect.Effect<ReadonlyArray<ReadonlyArray<SeenRecord>>, Error> =>
  Effect.gen(function*() {
    const ends = yield* endOffsets(bs, topic)
    const kafka = yield* KafkaClient
    const conn = yield* Effect.orDie(connectionSettings("it", new Map([["bootstrap.servers", bs]]), "it-read-to-end"))
    const byPartition = ends.map(() => new Map<number, SeenRecord>())
    const done = yield* Deferred.make<void>()
    const reached = () => ends.every((end, p) => end === 0 || byPartition[p]!.has(end - 1))
    if (reached()) yield* Deferred.succeed(done, undefined)
    const consumer = yield* kafka.consumer(conn, {
      groupId: freshGroup("read-to-end"),
      topics: [topic],
      fromBeginning: true,
      partitionsConsumedConcurrently: 4
    })
    const running = yield* Effect.fork(consumer.start((batch) =>
      Effect.sync(() => {
        const m = byPartition[batch.partition]
        if (m === undefined) return
        for (const r of batch.records) {
          const offset = Number(r.offset)
          m.set(offset, { partition: batch.partition, offset, value: r.value?.toString("utf8") ?? "<null>" })
        }
        if (reached()) Deferred.unsafeDone(done, Exit.void)
      })
    ))
    yield* Effect.raceFirst(Deferred.await(done), consumer.crashed).pipe(
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () =>
          new Error(`readToEnd(${topic} on ${bs}): did not reach the ends ${ends.join(",")}; read ${byPartition.map((m) => m.size).join(",")}`)
      })
    )
    yield* consumer.stop
    yield* Fiber.interrupt(running)
    return byPartition.map((m) => [...m.values()].sort((a, b) => a.offset - b.offset))
  }).pipe(Effect.scoped, Effect.provide(KafkaJsClient.layer))

export interface SeenCheckpoint {
  readonly group: string
  readonly topic: string
  readonly partition: number
  readonly upstream: number
  readonly downstream: number
}

/** Every checkpoint in `<source>.checkpoints.internal` on `bs`, in the order they were written. */
export const checkpointsOf = (bs: string, source: string): Effect.Effect<ReadonlyArray<SeenCheckpoint>, Error> =>
  Effect.map(readEverything(bs, `${source}.checkpoints.internal`, 1, "60 seconds"), (ps) =>
    ps.flat().map((r): SeenCheckpoint => {
      const d = Checkpoint.decode(r.key!, r.value!)
      if (Either.isLeft(d)) throw new Error(`undecodable checkpoint at ${r.offset}: ${d.left.message}`)
      const { key, value } = d.right
      return { ...key, upstream: Number(value.upstreamOffset), downstream: Number(value.offset) }
    }))

/** Indexes at which `xs` decreases (empty = never decreases). */
export const decreases = (xs: ReadonlyArray<number>): ReadonlyArray<number> =>
  xs.flatMap((x, i) => (i > 0 && x < xs[i - 1]! ? [i] : []))

export interface LiveApplication {
  /** what it processed so far (grows while it runs) */
  readonly processed: ReadonlyArray<Processed>
  /** stops consuming (waits for the batch in hand); its group keeps what it committed */
  readonly stop: Effect.Effect<void>
}

/**
 * An application that consumes `topic` continuously in group `group` (from the beginning where
 * the group has nothing committed), committing after every batch and spending `work` per batch.
 * It runs until `stop` or until the scope closes.
 */
export const liveApplication = (
  bs: string,
  group: string,
  topic: string,
  work: Duration.DurationInput = "20 millis"
): Effect.Effect<LiveApplication, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    const conn = yield* Effect.orDie(connectionSettings("it", new Map([["bootstrap.servers", bs]]), `it-live-${group}`))
    const processed: Array<Processed> = []
    const consumer = yield* kafka.consumer(conn, { groupId: group, topics: [topic], fromBeginning: true, partitionsConsumedConcurrently: 2 })
    const running = yield* Effect.forkScoped(consumer.start((batch) =>
      Effect.gen(function*() {
        if (batch.records.length === 0) return
        for (const r of batch.records) {
          processed.push({ partition: batch.partition, offset: Number(r.offset), value: r.value?.toString("utf8") ?? "<null>" })
        }
        yield* Effect.sleep(work)
        const next = Number(batch.records[batch.records.length - 1]!.offset) + 1
        yield* Effect.orDie(consumer.commit([{ topic, partition: batch.partition, offset: String(next) }]))
      })
    ))
    return { processed, stop: Effect.zipRight(consumer.stop, Fiber.interrupt(running)) }
  }).pipe(Effect.provide(KafkaJsClient.layer))

/**
 * Like runApplication with `{ records }`, but stopping after `perPartition[p]` records of each
 * partition p (small fetches, so that the partitions' batches alternate): a group that stopped
 * part-way into every partition. Commits after each batch what it processed; returns what it
 * processed and the committed offsets (index = partition).
 */
export const runApplicationPerPartition = (
  bs: string,
  group: string,
  topic: string,
  perPartition: ReadonlyArray<number>,
  timeout: Duration.DurationInput = "60 seconds"
): Effect.Effect<{ readonly processed: ReadonlyArray<Processed>; readonly committed: ReadonlyArray<number> }, Error> =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    const conn = yield* Effect.orDie(connectionSettings("it", new Map([["bootstrap.servers", bs]]), `it-app-${group}`))
    const processed: Array<Processed> = []
    const counts = perPartition.map(() => 0)
    const committed = perPartition.map(() => -1)
    const done = yield* Deferred.make<void>()
    const consumer = yield* kafka.consumer(conn, {
      groupId: group,
      topics: [topic],
      fromBeginning: true,
      partitionsConsumedConcurrently: 1,
      maxBytesPerPartition: 4096
    })
    const running = yield* Effect.fork(consumer.start((batch) =>
      Effect.gen(function*() {
        const p = batch.partition
        let next: number | undefined
        for (const r of batch.records) {
          if (counts[p]! >= perPartition[p]!) break
          processed.push({ partition: p, offset: Number(r.offset), value: r.value?.toString("utf8") ?? "<null>" })
          counts[p]!++
          next = Number(r.offset) + 1
        }
        if (next !== undefined) {
          yield* Effect.orDie(consumer.commit([{ topic, partition: p, offset: String(next) }]))
          committed[p] = next
        }
        if (counts.every((c, i) => c >= perPartition[i]!)) yield* Deferred.done(done, Exit.void)
      })
    ))
    yield* Effect.raceFirst(Deferred.await(done), consumer.crashed).pipe(
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () => new Error(`application ${group} on ${topic} (${bs}) did not process ${perPartition.join(",")}; processed ${counts.join(",")}`)
      })
    )
    yield* consumer.stop
    yield* Fiber.interrupt(running)
    return { processed, committed }
  }).pipe(Effect.scoped, Effect.provide(KafkaJsClient.layer))
