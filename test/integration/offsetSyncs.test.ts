/**
 * Offset syncs on real brokers: the replicating herder writes MM2-layout syncs to
 * `mm2-offset-syncs.<target>.internal` on the source, where MM2 would (first record, every
 * offset.lag.max + 1, the tail at flush), at every gap of a transactional source (commit markers),
 * and every sync is a true pair: the source record at `upstreamOffset` is the target record at
 * `offset`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { inject } from "vitest"
import type { KafkaRecord } from "../../src/kafka/KafkaRecord.js"
import * as OffsetSync from "../../src/wire/OffsetSync.js"
import { runJavaTool } from "./support/javaTools.js"
import {
  type ByPartition,
  createTopic,
  endOffsets,
  eventually,
  flowProps,
  produceToPartitions,
  readAll,
  readEverything,
  startReplicator,
  sum,
  uniqueId
} from "./support/kafka.js"
import { indexedRecords } from "./support/records.js"

interface Sync {
  readonly upstream: number
  readonly downstream: number
}

/** The syncs of `topic` partition 0 found in the offset syncs topic, in write order. */
const syncsOf = (bs: string, syncsTopic: string, topic: string) =>
  Effect.map(readEverything(bs, syncsTopic, 1, "60 seconds"), (partitions) =>
    partitions.flat().flatMap((r): Array<Sync> => {
      const d = OffsetSync.decode(r.key!, r.value!)
      if (Either.isLeft(d)) throw new Error(`undecodable offset sync at offset ${r.offset}: ${d.left.message}`)
      return d.right.key.topic === topic && d.right.key.partition === 0
        ? [{ upstream: Number(d.right.value.upstreamOffset), downstream: Number(d.right.value.offset) }]
        : []
    }))

/** Every sync names the same record on both sides. */
const expectTruePairs = (syncs: ReadonlyArray<Sync>, source: ByPartition, target: ByPartition) => {
  const at = (rs: ReadonlyArray<KafkaRecord> | undefined, offset: number) => rs?.find((r) => Number(r.offset) === offset)
  for (const s of syncs) {
    const here = at(source[0], s.upstream)
    const there = at(target[0], s.downstream)
    expect(here, `source record at ${s.upstream}`).toBeDefined()
    expect(there, `target record at ${s.downstream} (sync ${s.upstream} -> ${s.downstream})`).toBeDefined()
    expect(there!.value?.equals(here!.value!), `sync ${s.upstream} -> ${s.downstream}`).toBe(true)
    expect(there!.key).toEqual(here!.key)
  }
}

describe("offset syncs", () => {
  it.scopedLive("are written where MM2 writes them, in its layout, and name the same record on both sides", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [p, b] = [`p${id}`, `b${id}`]
      const topic = `sync${id}`
      const records = indexedRecords("s", 250, 1)
      yield* createTopic(primary, topic, 1)
      yield* produceToPartitions(primary, topic, records)
      const replicator = yield* startReplicator(flowProps({ source: p, target: b, sourceBootstrap: primary, targetBootstrap: backup, topics: topic }))
      const syncsTopic = `mm2-offset-syncs.${b}.internal`
      // MM2's points for 0..249 with offset.lag.max = 100, and the tail once flushed (every 500 ms here)
      const syncs = yield* eventually(
        `offset syncs of ${topic} in ${syncsTopic}`,
        syncsOf(primary, syncsTopic, topic),
        (ss) => ss.some((s) => s.upstream === 249),
        { timeout: "60 seconds", interval: "500 millis" }
      )
      const pairs = new Set(syncs.map((s) => `${s.upstream}->${s.downstream}`))
      for (const expected of ["0->0", "101->101", "202->202", "249->249"]) expect(pairs, expected).toContain(expected)
      expectTruePairs(syncs, yield* readAll(primary, topic, 250), yield* readAll(backup, `${p}.${topic}`, 250))
      yield* replicator.expectRunning
    }), 120_000)

  it.scopedLive("sync every gap of a transactional source written by the Java producer", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [p, b] = [`p${id}`, `b${id}`]
      const topic = `txsync${id}`
      yield* createTopic(primary, topic, 1)
      // short transactions: a commit marker (an offset without a record) every few records
      yield* runJavaTool("org.apache.kafka.tools.ProducerPerformance", [
        "--topic",
        topic,
        "--num-records",
        "3000",
        "--throughput",
        "-1",
        "--payload-monotonic",
        "--transactional-id",
        `tx-${id}`,
        "--transaction-duration-ms",
        "20",
        "--producer-props",
        `bootstrap.servers=${primary}`,
        "acks=all",
        "batch.size=2048",
        "linger.ms=0"
      ], { timeout: "60 seconds" })
      const ends = yield* endOffsets(primary, topic)
      const source = yield* readAll(primary, topic, 3000)
      const offsets = source[0]!.map((r) => Number(r.offset))
      const gaps = offsets.filter((o, i) => i > 0 && o !== offsets[i - 1]! + 1)
      expect(gaps.length, `commit markers in ${topic} (end offset ${sum(ends)})`).toBeGreaterThan(1)

      yield* startReplicator(flowProps({ source: p, target: b, sourceBootstrap: primary, targetBootstrap: backup, topics: topic }))
      const target = yield* readAll(backup, `${p}.${topic}`, 3000)
      const syncsTopic = `mm2-offset-syncs.${b}.internal`
      const syncs = yield* eventually(
        `a sync at each of the ${gaps.length} gaps of ${topic}`,
        syncsOf(primary, syncsTopic, topic),
        (ss) => {
          const at = new Set(ss.map((s) => s.upstream))
          return gaps.every((g) => at.has(g)) && at.has(offsets[offsets.length - 1]!)
        },
        { timeout: "60 seconds", interval: "500 millis" }
      )
      expectTruePairs(syncs, source, target)
    }), 180_000)

  it.scopedLive("go to the target with offset-syncs.topic.location = target", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [p, b] = [`p${id}`, `b${id}`]
      const topic = `tsync${id}`
      yield* createTopic(primary, topic, 1)
      yield* produceToPartitions(primary, topic, indexedRecords("t", 20, 1))
      yield* startReplicator(flowProps({
        source: p,
        target: b,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: topic,
        extra: { "offset-syncs.topic.location": "target" }
      }))
      const syncs = yield* eventually(
        "offset syncs on the target",
        // on the target, MM2 names the topic after the source (the other cluster)
        syncsOf(backup, `mm2-offset-syncs.${p}.internal`, topic),
        (ss) => ss.some((s) => s.upstream === 19),
        { timeout: "60 seconds", interval: "500 millis" }
      )
      expect(syncs[0]).toEqual({ upstream: 0, downstream: 0 })
    }), 120_000)
})
