/**
 * Migration between Java MirrorMaker 2 (4.3.1 from Maven Central, dedicated mode) and effect-mm2
 * on real brokers, with one mm2.properties for both, while the source keeps receiving records:
 *
 *   Java MM2 replicates part of it and stops (SIGTERM: Connect commits its offsets)
 *   -> effect-mm2 starts from Java's positions in mm2-offsets.<source>.internal, writes its own
 *      there too (effect-mm2.connect.offsets.emit.enabled) and stops
 *   -> Java MM2 starts from effect-mm2's positions and finishes.
 *
 * Every source record is on the target exactly once, in order (nothing lost, nothing replicated
 * twice), and the checkpoints of a consumer group never go backwards across both switches. The
 * Connect offset records Java wrote are also checked against our codec, byte for byte.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Fiber, Option, Ref } from "effect"
import { inject } from "vitest"
import { decode, encodeKey, partitionFor } from "../../src/flow/ConnectOffsets.js"
import type { KafkaRecord } from "../../src/kafka/KafkaRecord.js"
import * as Checkpoint from "../../src/wire/Checkpoint.js"
import * as OffsetSync from "../../src/wire/OffsetSync.js"
import { startJavaMirrorMaker } from "./support/javaMirrorMaker.js"
import {
  createTopic,
  endOffsets,
  eventually,
  flowProps,
  type ByPartition,
  produceToPartitions,
  readAll,
  readEverything,
  startReplicator,
  sum,
  uniqueId,
  withAdmin
} from "./support/kafka.js"
import { rec } from "./support/records.js"

const PARTITIONS = 4
const BACKLOG_PER_PARTITION = 1500

interface Seen {
  readonly partition: number
  readonly upstream: bigint
  readonly downstream: bigint
}

/** Checkpoints of `group` in the order they were written (the topic has one partition). */
const checkpointsOf = (bs: string, topic: string, group: string) =>
  Effect.map(readEverything(bs, topic, 1, "60 seconds"), (ps) =>
    ps.flat().flatMap((r): Array<Seen> => {
      const d = Checkpoint.decode(r.key!, r.value!)
      if (Either.isLeft(d)) throw new Error(`undecodable checkpoint at ${r.offset}: ${d.left.message}`)
      const { key, value } = d.right
      return key.group === group ? [{ partition: key.partition, upstream: value.upstreamOffset, downstream: value.offset }] : []
    }))

/**
 * Partitions of `topic` with an offset sync at or below `upstream` in `syncsTopic`: the only ones
 * a checkpoint at `upstream` can be translated for (Java MM2 does not always write a sync at a
 * partition's first record, and neither MM2 translates below the oldest sync).
 */
const translatable = (bs: string, syncsTopic: string, topic: string, upstream: bigint) =>
  Effect.map(readEverything(bs, syncsTopic, 1, "60 seconds"), (ps) => {
    const found = new Set<number>()
    for (const r of ps.flat()) {
      const d = OffsetSync.decode(r.key!, r.value!)
      if (Either.isRight(d) && d.right.key.topic === topic && d.right.value.upstreamOffset <= upstream) found.add(d.right.key.partition)
    }
    return found
  })

/**
 * Waits for checkpoints of `group` at upstream offset `upstream` on at least `atLeast` partitions,
 * and on every partition in `required`. Java MM2 writes one for a partition only when its
 * translation grew, which on a run of a few seconds leaves some partitions out; ours must cover
 * every translatable partition.
 */
const checkpointsAt = (
  bs: string,
  topic: string,
  group: string,
  upstream: bigint,
  who: string,
  atLeast: number,
  required: ReadonlySet<number> = new Set()
) =>
  eventually(
    `${who}: checkpoints of ${group} at upstream offset ${upstream} on ${atLeast} of ${PARTITIONS} partitions and on [${[...required].join(",")}]`,
    checkpointsOf(bs, topic, group),
    (cs) => {
      const at = new Set(cs.filter((c) => c.upstream === upstream).map((c) => c.partition))
      return at.size >= atLeast && [...required].every((p) => at.has(p))
    },
    { timeout: "60 seconds", interval: "1 second" }
  )

const commitGroup = (bs: string, group: string, topic: string, offset: bigint) =>
  withAdmin(bs, (admin) =>
    admin.commitGroupOffsets(group, Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition, offset: offset.toString() }))))

const values = (rs: ReadonlyArray<KafkaRecord>) => rs.map((r) => r.value?.toString("utf8") ?? "<null>")

describe("migration from and to Java MirrorMaker 2", () => {
  it.scopedLive("Java MM2 -> effect-mm2 -> Java MM2: nothing lost, nothing replicated twice, checkpoints monotonic", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [p, b] = [`p${id}`, `b${id}`]
      const topic = `mig${id}`
      const remote = `${p}.${topic}`
      const group = `app-${id}`
      const checkpoints = `${p}.checkpoints.internal`
      const offsetsTopic = `mm2-offsets.${p}.internal`

      yield* createTopic(primary, topic, PARTITIONS)
      // the backlog: values say partition and sequence
      const next = Array.from({ length: PARTITIONS }, () => 0)
      const batch = (perPartition: number) =>
        Array.from({ length: PARTITIONS }, (_, partition) =>
          Array.from({ length: perPartition }, () => [partition, rec({ key: `k${partition}`, value: `${partition}:${next[partition]!++}` })] as const)).flat()
      yield* produceToPartitions(primary, topic, batch(BACKLOG_PER_PARTITION))
      // the group has a position before Java's checkpoint connector starts (it checkpoints groups it
      // knows); at 0, which Java translates exactly, so its translation of 500 is larger on every
      // partition (Java writes a checkpoint only when the translated offset grows)
      yield* commitGroup(primary, group, topic, 0n)

      // a live source: records keep coming during every switch, until stopped
      const producing = yield* Ref.make(true)
      const producer = yield* Effect.gen(function*() {
        while (yield* Ref.get(producing)) {
          yield* produceToPartitions(primary, topic, batch(10))
          yield* Effect.sleep("200 millis")
        }
      }).pipe(Effect.forkScoped)

      const props = flowProps({
        source: p,
        target: b,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: topic,
        extra: {
          [`${p}->${b}.groups`]: group,
          "emit.checkpoints.interval.seconds": "1",
          // neither needs heartbeats here; off, Java MM2 starts no herder b->p
          "emit.heartbeats.enabled": "false",
          // the test brokers have no authorizer
          "sync.topic.acls.enabled": "false",
          // Java's Connect topics on single-node brokers
          "offset.storage.replication.factor": "1",
          "config.storage.replication.factor": "1",
          "status.storage.replication.factor": "1",
          // a stopping Java task gets the time to commit its offsets
          "task.shutdown.graceful.timeout.ms": "20000",
          // a restarted Java worker gets its tasks at once
          [`${b}.scheduled.rebalance.max.delay.ms`]: "0",
          // effect-mm2 also writes its positions for Java MM2
          "effect-mm2.connect.offsets.emit.enabled": "true"
        }
      })

      // 1. Java MM2 replicates part of it, checkpoints the group, and stops gracefully
      const java1 = yield* startJavaMirrorMaker(props, { clusters: [b] })
      yield* eventually(
        () => `Java MM2 replicating into ${remote}\n${java1.tail()}`,
        endOffsets(backup, remote).pipe(Effect.catchAll(() => Effect.succeed([] as ReadonlyArray<number>))),
        (os) => sum(os) >= 2 * BACKLOG_PER_PARTITION,
        { timeout: "90 seconds", interval: "500 millis" }
      )
      yield* commitGroup(primary, group, topic, 500n)
      yield* checkpointsAt(backup, checkpoints, group, 500n, "Java MM2", 1)
      yield* java1.stop()
      const afterJava = sum(yield* endOffsets(backup, remote))

      // Java's own Connect offset records match our codec byte for byte, partitioner included
      const written = yield* readEverything(backup, offsetsTopic, 1, "60 seconds")
      const javaPositions = written.flatMap((rs, partition) =>
        rs.flatMap((r) => {
          const d = decode(r.key, r.value)
          return Option.isSome(d) && d.value.cluster === p ? [{ r, partition, d: d.value }] : []
        })
      )
      expect(javaPositions.length).toBeGreaterThan(0)
      for (const { d, partition, r } of javaPositions) {
        expect(encodeKey(d)).toEqual(r.key)
        expect(partitionFor(r.key!, written.length)).toBe(partition)
      }
      expect(written.length).toBe(25)

      // 2. effect-mm2 takes over where Java stopped
      const ours = yield* startReplicator(props)
      yield* eventually(
        "effect-mm2 replicating more",
        endOffsets(backup, remote),
        (os) => sum(os) >= afterJava + 200,
        { timeout: "60 seconds", interval: "500 millis" }
      )
      yield* commitGroup(primary, group, topic, 1000n)
      const ours1000 = yield* translatable(primary, `mm2-offset-syncs.${b}.internal`, topic, 1000n)
      yield* checkpointsAt(backup, checkpoints, group, 1000n, "effect-mm2", 1, ours1000)
      yield* ours.expectRunning
      yield* ours.stop()
      const afterOurs = sum(yield* endOffsets(backup, remote))

      // 3. Java MM2 takes over where effect-mm2 stopped, and finishes
      const java2 = yield* startJavaMirrorMaker(props, { clusters: [b] })
      yield* eventually(
        () => `Java MM2 replicating again\n${java2.tail()}`,
        endOffsets(backup, remote),
        (os) => sum(os) >= afterOurs + 200,
        { timeout: "90 seconds", interval: "500 millis" }
      )
      yield* commitGroup(primary, group, topic, 1400n)
      yield* checkpointsAt(backup, checkpoints, group, 1400n, "Java MM2 again", 1)
      yield* Ref.set(producing, false)
      yield* Fiber.join(producer)
      const produced = sum(next)
      yield* eventually(
        () => `Java MM2 catching up to ${produced} records\n${java2.tail()}`,
        endOffsets(backup, remote),
        (os) => sum(os) >= produced,
        { timeout: "60 seconds", interval: "500 millis" }
      )
      yield* java2.stop()

      // every source record exactly once, in order
      const source: ByPartition = yield* readAll(primary, topic, produced)
      const target: ByPartition = yield* readAll(backup, remote, produced)
      const targetTotal = sum(yield* endOffsets(backup, remote))
      console.log(
        `[javaMigration] produced ${produced}; on the target after Java ${afterJava}, after effect-mm2 ${afterOurs}, at the end ${targetTotal}`
      )
      for (let partition = 0; partition < PARTITIONS; partition++) {
        expect(values(target[partition] ?? [])).toEqual(values(source[partition] ?? []))
      }
      expect(targetTotal).toBe(produced)

      // checkpoints of the group never go backwards, across both switches
      const seen = yield* checkpointsOf(backup, checkpoints, group)
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const mine = seen.filter((c) => c.partition === partition)
        for (let i = 1; i < mine.length; i++) {
          expect(mine[i]!.upstream >= mine[i - 1]!.upstream, `upstream of checkpoint ${i} of partition ${partition}`).toBe(true)
          expect(mine[i]!.downstream >= mine[i - 1]!.downstream, `downstream of checkpoint ${i} of partition ${partition}`).toBe(true)
        }
        if (ours1000.has(partition)) expect(mine.some((c) => c.upstream === 1000n), `effect-mm2's checkpoint of partition ${partition}`).toBe(true)
      }
      expect(seen.some((c) => c.upstream === 1400n)).toBe(true)
    }), 240_000)
})
