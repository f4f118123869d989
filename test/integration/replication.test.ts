/**
 * Replication primary -> backup with the default policy, checked record by record: every
 * partition of every remote topic must hold exactly the source partition's records, in order,
 * with key, value, headers and timestamp byte-identical. Then the progress group, and the
 * ReplicationLog's source->target offset mapping.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, HashMap, Layer, Logger, LogLevel, Stream } from "effect"
import { inject } from "vitest"
import * as Flow from "../../src/flow/Flow.js"
import { type PartitionMapping, ReplicationLog, translate } from "../../src/flow/ReplicationLog.js"
import * as KafkaJsClient from "../../src/kafka/KafkaJsClient.js"
import {
  createTopic,
  endOffsets,
  eventually,
  flowProps,
  forkUntilScopeCloses,
  groupOffsets,
  listTopics,
  produceToPartitions,
  progressGroup,
  readAll,
  resolveProps,
  startReplicator,
  sum,
  uniqueId,
  waitForCount
} from "./support/kafka.js"
import { expectedByPartition, indexedRecords, mixedRecords, view, viewByPartition } from "./support/records.js"

const PARTITIONS = 3
const PER_TOPIC = 120

describe("replication primary -> backup (DefaultReplicationPolicy)", () => {
  it.scopedLive("copies every record to the same partition, in order, byte-identical; progress reaches the end offsets", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [source, target] = [`p${id}`, `b${id}`]
      const prefix = `rep${id}`
      const topics = [0, 1, 2].map((i) => ({ name: `${prefix}-t${i}`, records: mixedRecords(i, PER_TOPIC, PARTITIONS) }))

      for (const t of topics) yield* createTopic(primary, t.name, PARTITIONS)
      // half before the replicator starts (a backlog), half while it runs (the live tail)
      const half = PER_TOPIC / 2
      for (const t of topics) yield* produceToPartitions(primary, t.name, t.records.slice(0, half))

      const replicator = yield* startReplicator(flowProps({
        source,
        target,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: `${prefix}.*`
      }))
      yield* waitForCount(backup, `${source}.${topics[0]!.name}`, 1)
      for (const t of topics) yield* produceToPartitions(primary, t.name, t.records.slice(half), "gzip")

      for (const t of topics) {
        const expected = expectedByPartition(t.records, PARTITIONS)
        // the source holds what we wrote (if this fails, the bug is in the client, not the flow)
        expect(viewByPartition(yield* readAll(primary, t.name, PER_TOPIC)), `source ${t.name}`).toEqual(expected)

        const remote = `${source}.${t.name}`
        const copied = yield* readAll(backup, remote, PER_TOPIC)
        expect(copied.length, `partitions of ${remote}`).toBe(PARTITIONS)
        const actual = viewByPartition(copied)
        for (let p = 0; p < PARTITIONS; p++) {
          expect(actual[p], `${remote} partition ${p}`).toEqual(expected[p])
        }
        // exactly once on a clean run: nothing duplicated, nothing extra
        expect(yield* endOffsets(backup, remote), `end offsets of ${remote}`).toEqual(yield* endOffsets(primary, t.name))
      }
      // exactly the three remote topics, nothing else with this prefix on the target
      const onTarget = (yield* listTopics(backup)).filter((n) => n.includes(prefix)).sort()
      expect(onTarget).toEqual(topics.map((t) => `${source}.${t.name}`).sort())
      const group = progressGroup(source, target)
      expect(group).toBe(`effect-mm2.${source}->${target}`)
      for (const t of topics) {
        const ends = yield* endOffsets(primary, t.name)
        expect(sum(ends)).toBe(PER_TOPIC)
        // committed only after the target acknowledged, flushed every 500 ms
        yield* eventually(
          `progress group ${group} to reach the end offsets ${JSON.stringify(ends)} of ${t.name}`,
          groupOffsets(primary, group, t.name),
          (committed) => JSON.stringify(committed) === JSON.stringify(ends),
          { timeout: "30 seconds" }
        )
      }
      yield* replicator.expectRunning
    }), 120_000)

  it.scopedLive("interrupting the replicator drains and commits: progress equals the end offsets afterwards", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [source, target] = [`p${id}`, `b${id}`]
      const topic = `drain${id}-t`
      const records = indexedRecords("d", 300, PARTITIONS)
      yield* createTopic(primary, topic, PARTITIONS)
      yield* produceToPartitions(primary, topic, records)

      // a long flush interval: only the final commit on interruption can bring progress to the end
      const replicator = yield* startReplicator(flowProps({
        source,
        target,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: `drain${id}.*`,
        extra: { [`${target}.offset.flush.interval.ms`]: "600000" }
      }))
      yield* waitForCount(backup, `${source}.${topic}`, records.length)
      yield* replicator.stop()

      const ends = yield* endOffsets(primary, topic)
      expect(yield* groupOffsets(primary, progressGroup(source, target), topic)).toEqual(ends)
      expect(yield* endOffsets(backup, `${source}.${topic}`)).toEqual(ends)
    }), 120_000)

  it.scopedLive("ReplicationLog's runs map every source offset to the target offset holding the same record, in every state a reader sees", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [source, target] = [`p${id}`, `b${id}`]
      const topic = `log${id}-t`
      const records = mixedRecords(7, 90, PARTITIONS)
      yield* createTopic(primary, topic, PARTITIONS)
      yield* produceToPartitions(primary, topic, records)

      const settings = yield* resolveProps(flowProps({
        source,
        target,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: `log${id}.*`,
        // only this test's topic: heartbeat topics other herders write to primary would bypass the filter
        extra: { "heartbeats.replication.enabled": "false" }
      }))
      expect(settings.flows.map((f) => f.name)).toEqual([`${source}->${target}`])
      const services = yield* Layer.build(
        Flow.layer(settings.flows[0]!).pipe(Layer.provideMerge(ReplicationLog.layer), Layer.provide(KafkaJsClient.layer))
      )
      const log = Context.get(services, ReplicationLog)
      // whatever states a reader happens to see (it may skip some: the writer never waits for it)
      const seen: Array<PartitionMapping> = []
      yield* log.changes.pipe(
        Stream.runForEach((m) => Effect.sync(() => seen.push(...HashMap.values(m)))),
        Effect.forkScoped
      )
      yield* forkUntilScopeCloses(
        Flow.run().pipe(Effect.provide(services), Logger.withMinimumLogLevel(LogLevel.Warning)),
        `flow ${source}->${target}`
      )

      const remote = `${source}.${topic}`
      const copied = yield* readAll(backup, remote, records.length)
      const fromSource = yield* readAll(primary, topic, records.length)
      const sourceEnds = yield* endOffsets(primary, topic)
      const targetEnds = yield* endOffsets(backup, remote)
      yield* eventually(
        "the log to reach the end of every partition",
        log.positions,
        (ps) => ps.length === sourceEnds.filter((e) => e > 0).length && ps.every((p) => Number(p.sourceOffset) === sourceEnds[p.partition]! - 1),
        { timeout: "30 seconds" }
      )
      const final = [...HashMap.values(yield* log.mappings)]
      expect(seen.length).toBeGreaterThan(0)

      const sameRecord = (m: PartitionMapping, sourceOffset: bigint) => {
        const targetOffset = translate(m, sourceOffset)
        const there = copied[m.partition]?.find((x) => BigInt(x.offset) === targetOffset)
        const here = fromSource[m.partition]?.find((x) => BigInt(x.offset) === sourceOffset)
        expect(here, `source ${topic}[${m.partition}]@${sourceOffset}`).toBeDefined()
        expect(there, `target ${remote}[${m.partition}]@${targetOffset} for source offset ${sourceOffset}`).toBeDefined()
        expect(view(there!)).toEqual(view(here!))
      }
      for (const m of [...seen, ...final]) {
        expect(m.sourceTopic).toBe(topic)
        expect(m.targetTopic).toBe(remote)
        // every offset of the run, not only its ends
        for (let o = m.run.source; o <= m.last.source; o++) sameRecord(m, o)
      }
      // one session over contiguous data: each final run covers the whole partition
      expect(final.map((m) => ({ partition: m.partition, run: Number(m.run.source), last: Number(m.last.source), target: Number(m.last.target) }))
        .sort((a, b) => a.partition - b.partition))
        .toEqual(sourceEnds.flatMap((end, partition) =>
          end === 0 ? [] : [{ partition, run: 0, last: end - 1, target: targetEnds[partition]! - 1 }]
        ))
    }), 120_000)
})
