/**
 * Checkpoints on real brokers: consumer groups committed on the source get MM2-layout
 * checkpoints in `<source>.checkpoints.internal` on the target, translated to the exact target
 * position (the first record at or after the group's offset), for plain and transactional
 * sources, only for groups `groups` / `groups.exclude` accept, never for our own groups, and
 * never going backwards.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { inject } from "vitest"
import * as Checkpoint from "../../src/wire/Checkpoint.js"
import { runJavaTool } from "./support/javaTools.js"
import {
  createTopic,
  eventually,
  flowProps,
  produceToPartitions,
  progressGroup,
  readAll,
  readEverything,
  startReplicator,
  uniqueId,
  waitForCount,
  withAdmin
} from "./support/kafka.js"
import { indexedRecords } from "./support/records.js"

interface Seen {
  readonly group: string
  readonly topic: string
  readonly partition: number
  readonly upstream: number
  readonly downstream: number
  readonly metadata: string
}

const checkpointsOf = (bs: string, topic: string) =>
  Effect.map(readEverything(bs, topic, 1, "60 seconds"), (ps) =>
    ps.flat().map((r): Seen => {
      const d = Checkpoint.decode(r.key!, r.value!)
      if (Either.isLeft(d)) throw new Error(`undecodable checkpoint at ${r.offset}: ${d.left.message}`)
      const { key, value } = d.right
      return { ...key, upstream: Number(value.upstreamOffset), downstream: Number(value.offset), metadata: value.metadata }
    }))

const commit = (bs: string, group: string, topic: string, offset: number) =>
  withAdmin(bs, (admin) => admin.commitGroupOffsets(group, [{ topic, partition: 0, offset: String(offset) }]))

/** Waits for a checkpoint of `group` with this upstream offset; returns every checkpoint seen. */
const checkpointFor = (bs: string, topic: string, group: string, upstream: number) =>
  eventually(
    `a checkpoint of ${group} at upstream offset ${upstream} in ${topic}`,
    checkpointsOf(bs, topic),
    (cs) => cs.some((c) => c.group === group && c.upstream === upstream),
    { timeout: "60 seconds", interval: "500 millis" }
  )

describe("checkpoints", () => {
  it.scopedLive("translate committed groups exactly, in MM2's layout, for accepted groups only, never backwards", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [p, b] = [`p${id}`, `b${id}`]
      const topic = `ckpt${id}`
      const remote = `${p}.${topic}`
      yield* createTopic(primary, topic, 1)
      yield* produceToPartitions(primary, topic, indexedRecords("c", 100, 1))
      const replicator = yield* startReplicator(flowProps({
        source: p,
        target: b,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: topic,
        extra: { "emit.checkpoints.interval.seconds": "1" }
      }))
      yield* waitForCount(backup, remote, 100)
      const app = `app-${id}`
      const excluded = `console-consumer-${id}`
      yield* commit(primary, app, topic, 37)
      yield* commit(primary, excluded, topic, 50)
      const ckTopic = `${p}.checkpoints.internal`
      const first = yield* checkpointFor(backup, ckTopic, app, 37)
      expect(first.filter((c) => c.group === app)).toEqual([{ group: app, topic: remote, partition: 0, upstream: 37, downstream: 37, metadata: "" }])
      // caught up: the next record to read on the target is the end
      yield* commit(primary, app, topic, 100)
      const all = yield* checkpointFor(backup, ckTopic, app, 100)
      expect(all.find((c) => c.group === app && c.upstream === 100)?.downstream).toBe(100)
      expect(all.filter((c) => c.group === excluded || c.group === progressGroup(p, b))).toEqual([])
      // downstream offsets of a group only grow while its source offset does
      const mine = all.filter((c) => c.group === app).map((c) => c.downstream)
      expect([...mine].sort((x, y) => x - y)).toEqual(mine)
      yield* replicator.expectRunning
    }), 120_000)

  it.scopedLive("are exact for a transactional source, at records and at commit markers", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [p, b] = [`p${id}`, `b${id}`]
      const topic = `txckpt${id}`
      const remote = `${p}.${topic}`
      yield* createTopic(primary, topic, 1)
      yield* runJavaTool("org.apache.kafka.tools.ProducerPerformance", [
        "--topic", topic, "--num-records", "3000", "--throughput", "-1", "--payload-monotonic",
        "--transactional-id", `tx-${id}`, "--transaction-duration-ms", "20",
        "--producer-props", `bootstrap.servers=${primary}`, "acks=all", "batch.size=2048", "linger.ms=0"
      ], { timeout: "60 seconds" })
      const source = (yield* readAll(primary, topic, 3000))[0]!.map((r) => Number(r.offset))
      const markers = source.flatMap((o, i) => (i > 0 && o !== source[i - 1]! + 1 ? [source[i - 1]! + 1] : []))
      expect(markers.length).toBeGreaterThan(0)
      yield* startReplicator(flowProps({
        source: p,
        target: b,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: topic,
        extra: { "emit.checkpoints.interval.seconds": "1" }
      }))
      yield* waitForCount(backup, remote, 3000)
      // the true position of x: the target offset of the first record at or after x
      const truth = (x: number) => {
        const i = source.findIndex((o) => o >= x)
        return i < 0 ? source.length : i
      }
      const cases = [
        ["at-record", source[500]!],
        ["at-marker", markers[Math.floor(markers.length / 2)]!],
        ["after-all", source[source.length - 1]! + 2]
      ] as const
      for (const [name, x] of cases) yield* commit(primary, `${name}-${id}`, topic, x)
      for (const [name, x] of cases) {
        const all = yield* checkpointFor(backup, `${p}.checkpoints.internal`, `${name}-${id}`, x)
        const c = all.find((k) => k.group === `${name}-${id}` && k.upstream === x)!
        expect(c.downstream, `${name}: group at source offset ${x}`).toBe(truth(x))
      }
    }), 180_000)
})
