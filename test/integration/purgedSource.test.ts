/**
 * Nothing vanishes silently: a source partition whose replication position left its log is
 * reported once at ERROR with the exact offsets never replicated, counted in the metrics, kept in
 * the task state, and then handled per `auto.offset.reset`:
 *
 * - records removed with deleteRecords while the replicator was stopped (earliest: go on at the
 *   log start; none: that partition stops, the others go on);
 * - a source topic deleted and recreated while the replicator was stopped, with fewer records
 *   than our position and with more: told by its topic id, replicated from the new topic's
 *   start. Kafka deletes the progress group's offsets of a deleted topic, so what tells is the
 *   position and topic id recorded on the target (without it the new topic would look new, and
 *   with auto.offset.reset = latest its records would be skipped in silence);
 * - the same while the replicator runs (the position it holds tells).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import { inject } from "vitest"
import { topicIdOf } from "../../src/flow/SourceGaps.js"
import type { LostRange } from "../../src/supervision/TaskState.js"
import { forSourcePartition, gapEvents, lostRecords, stoppedPartitions } from "../../src/telemetry/Metrics.js"
import {
  createTopic,
  endOffsets,
  eventually,
  flowProps,
  groupOffsets,
  listTopics,
  produce,
  progressGroup,
  readAll,
  type Replicator,
  startReplicator,
  uniqueId,
  waitForCount,
  withAdmin
} from "./support/kafka.js"
import { rec } from "./support/records.js"

const values = (tag: string, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => rec({ key: `k${from + i}`, value: `${tag}-${from + i}` }))

const valuesOf = (records: ReadonlyArray<{ readonly value: Buffer | null }>) => records.map((r) => r.value?.toString("utf8"))

const range = (tag: string, from: number, count: number) => Array.from({ length: count }, (_, i) => `${tag}-${from + i}`)

const errors = (r: Replicator) => r.logs().filter((l) => l.level === "ERROR").map((l) => l.message)

const counter = (m: typeof lostRecords, flow: string, topic: string, partition: number) =>
  Effect.map(Metric.value(forSourcePartition(m, flow, topic, partition)), (s) => s.count)

const gapCount = (flow: string, topic: string, partition: number, cause: string) =>
  Effect.map(Metric.value(Metric.tagged(forSourcePartition(gapEvents, flow, topic, partition), "cause", cause)), (s) => s.count)

/** The replication task's notes of what it never replicated (TaskStatus.lostRanges), without their timestamps. */
const lostRangesOf = (r: Replicator) =>
  Effect.map(r.tasks, (ts) =>
    (ts.find((t) => t.task === "replication")?.lostRanges ?? []).map(({ at: _at, ...rest }: LostRange) => rest))

const topicIdOn = (bs: string, topic: string) =>
  withAdmin(bs, (admin) => admin.topicIds([topic])).pipe(Effect.map((ids) => ids.get(topic)))

const setup = () => {
  const primary = inject("primaryBootstrap")
  const backup = inject("backupBootstrap")
  const id = uniqueId()
  const [source, target] = [`p${id}`, `b${id}`]
  const prefix = `pur${id}`
  return { primary, backup, source, target, prefix, flow: `${source}->${target}`, group: progressGroup(source, target) }
}

/** Replicates until the progress group stands at `ends` for `topic`, then stops the replicator (as SIGTERM). */
const replicateAndStop = (props: Record<string, string>, primary: string, group: string, topic: string, ends: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const first = yield* startReplicator(props)
    yield* eventually(`progress of ${topic} at ${JSON.stringify(ends)}`, groupOffsets(primary, group, topic), (o) => JSON.stringify(o) === JSON.stringify(ends))
    yield* first.stop()
    expect(errors(first), "errors of the first run").toEqual([])
  })

/** Deletes `topic`, waits until the cluster no longer lists it, and creates it anew. */
const recreate = (bs: string, topic: string, partitions: number) =>
  Effect.gen(function*() {
    yield* withAdmin(bs, (admin) => admin.deleteTopics([topic]))
    yield* eventually(`${topic} to be deleted`, listTopics(bs), (ts) => !ts.includes(topic))
    // the deletion may still be finishing on the broker: creating it again is retried
    yield* eventually(`${topic} to be created again`, Effect.either(createTopic(bs, topic, partitions)), (r) => r._tag === "Right")
  })

describe("purged and recreated source partitions", () => {
  it.scopedLive("records deleted before they were replicated: one ERROR with the exact range, counted, noted, and replication goes on at the log start", () =>
    Effect.gen(function*() {
      const { primary, backup, source, target, prefix, flow, group } = setup()
      const topic = `${prefix}-orders`
      const remote = `${source}.${topic}`
      const props = flowProps({ source, target, sourceBootstrap: primary, targetBootstrap: backup, topics: `${prefix}.*` })
      yield* createTopic(primary, topic, 2)
      yield* produce(primary, topic, 0, values("a", 0, 100))
      yield* produce(primary, topic, 1, values("a", 0, 100))
      yield* replicateAndStop(props, primary, group, topic, [100, 100])

      // while it is stopped: more records, and those of partition 0 below 150 deleted
      yield* produce(primary, topic, 0, values("b", 100, 100))
      yield* produce(primary, topic, 1, values("b", 100, 50))
      yield* withAdmin(primary, (admin) => admin.deleteRecords(topic, [{ partition: 0, offset: "150" }]))

      const second = yield* startReplicator(props)
      yield* waitForCount(backup, remote, 300)
      yield* eventually("progress at the source end offsets", groupOffsets(primary, group, topic), (o) => o[0] === 200 && o[1] === 150)
      const copied = yield* readAll(backup, remote, 300)
      expect(valuesOf(copied[0]!)).toEqual([...range("a", 0, 100), ...range("b", 150, 50)])
      expect(valuesOf(copied[1]!)).toEqual([...range("a", 0, 100), ...range("b", 100, 50)])
      expect(yield* endOffsets(backup, remote)).toEqual([150, 150])

      const message = `${source}: ${topic}-0: records 100..149 were removed from the source before they were replicated ` +
        "(log start is now 150); continuing at 150 per auto.offset.reset=earliest"
      expect(errors(second)).toEqual([message])
      expect(yield* counter(lostRecords, flow, topic, 0)).toBe(50)
      expect(yield* counter(lostRecords, flow, topic, 1)).toBe(0)
      expect(yield* gapCount(flow, topic, 0, "removed")).toBe(1)
      expect(yield* lostRangesOf(second)).toEqual([{
        topic,
        partition: 0,
        cause: "removed",
        first: "100",
        last: "149",
        records: 50,
        resumedAt: "150",
        stopped: false,
        message
      }])
      yield* second.expectRunning
    }))

  it.scopedLive("auto.offset.reset = none: the purged partition stops with a named error, the other partition and topic go on", () =>
    Effect.gen(function*() {
      const { primary, backup, source, target, prefix, flow, group } = setup()
      const [purged, other] = [`${prefix}-a`, `${prefix}-b`]
      const props = flowProps({ source, target, sourceBootstrap: primary, targetBootstrap: backup, topics: `${prefix}.*` })
      yield* createTopic(primary, purged, 2)
      yield* createTopic(primary, other, 1)
      for (const p of [0, 1]) yield* produce(primary, purged, p, values("a", 0, 50))
      yield* produce(primary, other, 0, values("a", 0, 50))
      yield* replicateAndStop(props, primary, group, purged, [50, 50])
      yield* eventually(`progress of ${other}`, groupOffsets(primary, group, other), (o) => o[0] === 50)

      for (const p of [0, 1]) yield* produce(primary, purged, p, values("b", 50, 50))
      yield* produce(primary, other, 0, values("b", 50, 50))
      yield* withAdmin(primary, (admin) => admin.deleteRecords(purged, [{ partition: 0, offset: "80" }]))

      const second = yield* startReplicator({ ...props, [`${source}.consumer.auto.offset.reset`]: "none" })
      // the others replicate everything
      yield* eventually(`${source}.${other} and partition 1 of ${source}.${purged} complete`, Effect.all([
        endOffsets(backup, `${source}.${other}`),
        endOffsets(backup, `${source}.${purged}`)
      ]), ([o, a]) => o[0] === 100 && a[1] === 100)
      yield* eventually("progress of the others", Effect.all([groupOffsets(primary, group, purged), groupOffsets(primary, group, other)]), ([a, o]) =>
        a[1] === 100 && o[0] === 100)
      const message = errors(second)
      expect(message).toHaveLength(1)
      expect(message[0]).toContain(
        `${source}: ${purged}-0: records 50..79 were removed from the source before they were replicated (log start is now 80); ` +
          `replication of ${purged}-0 STOPPED per auto.offset.reset=none (the other partitions go on)`
      )
      expect(message[0]).toContain(`move group '${group}' on ${purged}:0`)
      // the stopped partition: nothing more written, its position where it was
      expect((yield* endOffsets(backup, `${source}.${purged}`))[0]).toBe(50)
      expect((yield* groupOffsets(primary, group, purged))[0]).toBe(50)
      expect(yield* counter(lostRecords, flow, purged, 0)).toBe(30)
      expect((yield* Metric.value(forSourcePartition(stoppedPartitions, flow, purged, 0))).value).toBe(1)
      expect(yield* lostRangesOf(second)).toEqual([{
        topic: purged,
        partition: 0,
        cause: "removed",
        first: "50",
        last: "79",
        records: 30,
        stopped: true,
        message: message[0]
      }])
      // the task itself keeps running
      const task = (yield* second.tasks).find((t) => t.task === "replication")
      expect(task?.state._tag).toBe("Running")
      yield* second.expectRunning
    }))

  for (
    const [name, newCount] of [
      ["fewer records than our position", 30],
      ["more records than our position (fetching there would skip the new topic's first records)", 150]
    ] as const
  ) {
    it.scopedLive(`a source topic deleted and recreated, while stopped, with ${name}: told by its topic id, replicated from its start`, () =>
      Effect.gen(function*() {
        const { primary, backup, source, target, prefix, flow, group } = setup()
        const topic = `${prefix}-orders`
        const remote = `${source}.${topic}`
        const props = flowProps({ source, target, sourceBootstrap: primary, targetBootstrap: backup, topics: `${prefix}.*` })
        yield* createTopic(primary, topic, 1)
        yield* produce(primary, topic, 0, values("old", 0, 100))
        yield* replicateAndStop(props, primary, group, topic, [100])
        const oldId = yield* topicIdOn(primary, topic)
        expect(oldId).toBeDefined()

        yield* recreate(primary, topic, 1)
        yield* produce(primary, topic, 0, values("new", 0, newCount))
        const newId = yield* topicIdOn(primary, topic)
        expect(newId).toBeDefined()
        expect(newId).not.toBe(oldId)

        const second = yield* startReplicator(props)
        yield* waitForCount(backup, remote, 100 + newCount)
        yield* eventually("progress at the new topic's end", groupOffsets(primary, group, topic), (o) => o[0] === newCount)
        const copied = yield* readAll(backup, remote, 100 + newCount)
        expect(valuesOf(copied[0]!)).toEqual([...range("old", 0, 100), ...range("new", 0, newCount)])

        const message = `${source}: ${topic}-0: topic ${topic} was deleted and recreated (topic id ${oldId} is now ${newId}): ` +
          "the old topic was replicated up to offset 99 (records it held after that, if any, were never replicated and can no longer " +
          "be counted); nothing of the new topic is lost; continuing at 0 per auto.offset.reset=earliest"
        expect(errors(second)).toEqual([message])
        expect(yield* gapCount(flow, topic, 0, "recreated")).toBe(1)
        expect(yield* counter(lostRecords, flow, topic, 0)).toBe(0)
        expect(yield* lostRangesOf(second)).toEqual([{
          topic,
          partition: 0,
          cause: "recreated",
          records: 0,
          resumedAt: "0",
          stopped: false,
          message
        }])
        // the position committed is one in the new topic
        const committed = yield* withAdmin(primary, (admin) => admin.fetchGroupOffsets(group, [topic]))
        expect(committed.map((c) => [c.offset, topicIdOf(c.metadata)])).toEqual([[String(newCount), newId]])
        yield* second.expectRunning
      }))
  }

  it.scopedLive("a source topic deleted and recreated while it is replicated: told by its topic id, replicated from its start", () =>
    Effect.gen(function*() {
      const { primary, backup, source, target, prefix, flow, group } = setup()
      const topic = `${prefix}-orders`
      const remote = `${source}.${topic}`
      const replicator = yield* startReplicator(
        flowProps({ source, target, sourceBootstrap: primary, targetBootstrap: backup, topics: `${prefix}.*` })
      )
      yield* createTopic(primary, topic, 1)
      yield* produce(primary, topic, 0, values("old", 0, 100))
      yield* eventually("progress at 100", groupOffsets(primary, group, topic), (o) => o[0] === 100)
      const oldId = yield* topicIdOn(primary, topic)

      yield* recreate(primary, topic, 1)
      yield* produce(primary, topic, 0, values("new", 0, 150))
      const newId = yield* topicIdOn(primary, topic)

      yield* eventually("progress at the new topic's end", groupOffsets(primary, group, topic), (o) => o[0] === 150)
      const ends = yield* endOffsets(backup, remote)
      const copied = yield* readAll(backup, remote, ends[0]!)
      const got = valuesOf(copied[0]!)
      // the old topic, then all of the new one (what the old session read of the new topic before
      // the recreation was noticed, if anything, comes again: duplicates, never a gap)
      expect(got.slice(0, 100)).toEqual(range("old", 0, 100))
      expect(new Set(got.slice(100))).toEqual(new Set(range("new", 0, 150)))
      expect(got.slice(-150)).toEqual(range("new", 0, 150))

      const errs = errors(replicator)
      expect(errs).toHaveLength(1)
      expect(errs[0]).toMatch(new RegExp(
        `^${source}: ${topic}-0: topic ${topic} was deleted and recreated \\(topic id ${oldId} is now ${newId}\\): ` +
          "the old topic was replicated up to offset \\d+ .*; nothing of the new topic is lost; continuing at 0 per auto.offset.reset=earliest$"
      ))
      expect(yield* gapCount(flow, topic, 0, "recreated")).toBe(1)
      yield* replicator.expectRunning
    }))
})
