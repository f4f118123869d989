/**
 * Topic discovery while running (refresh.topics.interval.seconds = 1): topics created on the
 * source after start, and source topics that gained partitions, reach the target with the right
 * partition count and every record in its partition.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { inject } from "vitest"
import {
  createPartitions,
  createTopic,
  endOffsets,
  eventually,
  flowProps,
  partitionCount,
  produceToPartitions,
  readAll,
  startReplicator,
  uniqueId,
  waitForCount
} from "./support/kafka.js"
import { expectedByPartition, indexedRecords, mixedRecords, viewByPartition } from "./support/records.js"

describe("topic discovery", () => {
  it.scopedLive("a topic created on the source after start is created on the target and fully replicated", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [source, target] = [`p${id}`, `b${id}`]
      const prefix = `disc${id}`
      const early = `${prefix}-early`
      const late = `${prefix}-late`
      const earlyRecords = indexedRecords("early", 30, 1)
      yield* createTopic(primary, early, 1)
      yield* produceToPartitions(primary, early, earlyRecords)

      const replicator = yield* startReplicator(flowProps({
        source,
        target,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: `${prefix}.*`
      }))
      yield* waitForCount(backup, `${source}.${early}`, earlyRecords.length)

      const lateRecords = mixedRecords(11, 75, 3)
      yield* createTopic(primary, late, 3)
      yield* produceToPartitions(primary, late, lateRecords.slice(0, 40))
      yield* produceToPartitions(primary, late, lateRecords.slice(40), "lz4")

      const remote = `${source}.${late}`
      const copied = yield* readAll(backup, remote, lateRecords.length)
      expect(yield* partitionCount(backup, remote)).toBe(3)
      expect(viewByPartition(copied)).toEqual(expectedByPartition(lateRecords, 3))
      expect(yield* endOffsets(backup, remote)).toEqual(yield* endOffsets(primary, late))
      // the topic that was there from the start still gets new records after the topic-set change
      const more = indexedRecords("early-more", 10, 1)
      yield* produceToPartitions(primary, early, more)
      const earlyCopied = yield* readAll(backup, `${source}.${early}`, earlyRecords.length + more.length)
      expect(viewByPartition(earlyCopied)).toEqual(expectedByPartition([...earlyRecords, ...more], 1))
      yield* replicator.expectRunning
    }), 120_000)

  it.scopedLive("partitions added to a source topic are added to the remote topic and replicated", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [source, target] = [`p${id}`, `b${id}`]
      const prefix = `grow${id}`
      const topic = `${prefix}-t`
      const remote = `${source}.${topic}`
      const before = indexedRecords("before", 40, 2)
      yield* createTopic(primary, topic, 2)
      yield* produceToPartitions(primary, topic, before)

      const replicator = yield* startReplicator(flowProps({
        source,
        target,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: `${prefix}.*`
      }))
      yield* waitForCount(backup, remote, before.length)
      expect(yield* partitionCount(backup, remote)).toBe(2)

      yield* createPartitions(primary, topic, 4)
      // a fresh producer only knows the new partitions once the broker reports them
      yield* eventually(`${topic} to have 4 partitions`, partitionCount(primary, topic), (n) => n === 4)
      // records for the new partitions (3 first, then 2) and the old ones
      const after = [
        ...indexedRecords("p3", 25, 1).map(([, r]) => [3, r] as const),
        ...indexedRecords("p2", 5, 1).map(([, r]) => [2, r] as const),
        ...indexedRecords("after", 20, 2)
      ]
      yield* produceToPartitions(primary, topic, after)
      const all = [...before, ...after]
      const sourceEnds = yield* endOffsets(primary, topic)
      expect(sourceEnds).toEqual([30, 30, 5, 25])

      yield* eventually(`${remote} to grow to 4 partitions`, partitionCount(backup, remote), (n) => n === 4)
      // every record, including those of the new partitions 2 and 3, reaches the target
      yield* eventually(
        `${remote} to hold the source's end offsets ${JSON.stringify(sourceEnds)} (records of the added partitions included)`,
        endOffsets(backup, remote),
        (ends) => JSON.stringify(ends) === JSON.stringify(sourceEnds),
        { timeout: "45 seconds" }
      )
      const copied = yield* readAll(backup, remote, all.length)
      expect(copied.length).toBe(4)
      expect(viewByPartition(copied)).toEqual(expectedByPartition(all, 4))
      yield* replicator.expectRunning
      // and it still stops gracefully
      yield* replicator.stop()
    }), 180_000)

  it.scopedLive("a topic whose remote topic the target refuses is reported once and skipped; the others replicate", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [source, target] = [`p${id}`, `b${id}`]
      const prefix = `refuse${id}`
      const ok = `${prefix}-ok`
      // a legal source name whose remote name (`<source>.` + name) passes Kafka's 249 characters
      const long = `${prefix}-${"x".repeat(249 - prefix.length - 1)}`
      expect(long.length).toBe(249)
      const records = indexedRecords("ok", 20, 1)
      yield* createTopic(primary, ok, 1)
      yield* createTopic(primary, long, 1)
      yield* produceToPartitions(primary, ok, records)
      yield* produceToPartitions(primary, long, indexedRecords("long", 5, 1))

      const replicator = yield* startReplicator(flowProps({
        source,
        target,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: `${prefix}.*`
      }))
      const copied = yield* readAll(backup, `${source}.${ok}`, records.length)
      expect(viewByPartition(copied)).toEqual(expectedByPartition(records, 1))
      // several refreshes (1 s each) later, still one report
      yield* Effect.sleep("3 seconds")
      const refused = replicator.logs().filter((l) => l.level === "ERROR" && l.message.includes(long))
      expect(refused.map((l) => l.message), replicator.logs().map((l) => `${l.level} ${l.message}`).join("\n")).toHaveLength(1)
      expect(refused[0]!.message).toContain(`Not replicating topic ${long}`)
      const more = indexedRecords("more", 10, 1)
      yield* produceToPartitions(primary, ok, more)
      yield* waitForCount(backup, `${source}.${ok}`, records.length + more.length)
      yield* replicator.expectRunning
    }), 120_000)
})
