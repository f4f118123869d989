/**
 * Failover drills with `sync.group.offsets.enabled` on real brokers, in the situations that make
 * offset translation hard: a transactional source with aborted transactions, a compacted source,
 * a group far behind under live load, live staleness, a group ahead of replication, replicator
 * restarts between commits, offset syncs on the target, and the group filter.
 *
 * "Exactly once": what the application processed on primary before the failover plus what it
 * processed on backup after it holds every record of the topic (as a consumer on primary reads
 * it) exactly once; re-reads and skips are counted and printed, and must both be 0.
 *
 * The drills mostly wait (for the broker's log cleaner, checkpoint rounds, replicator restarts),
 * so they run concurrently, each with its own cluster aliases and topics; the live staleness
 * measurement runs alone afterwards.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Fiber } from "effect"
import { inject } from "vitest"
import { connectionSettings } from "../../src/kafka/ClientSettings.js"
import { KafkaClient } from "../../src/kafka/KafkaClient.js"
import * as KafkaJsClient from "../../src/kafka/KafkaJsClient.js"
import type { PartitionWrite } from "../../src/kafka/KafkaRecord.js"
import * as Checkpoint from "../../src/wire/Checkpoint.js"
import { runApplication } from "./support/application.js"
import {
  checkpointsOf,
  decreases,
  type Drill,
  liveApplication,
  readToEnd,
  replicate,
  runApplicationPerPartition,
  type SeenRecord,
  tally
} from "./support/drills.js"
import {
  adminClient,
  createTopic,
  endOffsets,
  eventually,
  freshGroup,
  groupOffsets,
  listTopics,
  produceToPartitions,
  produceWrites,
  readAll,
  sum,
  toEndOffsets,
  uniqueId,
  waitForCount,
  withAdmin
} from "./support/kafka.js"
import { runFixture } from "./support/mirrorClient.js"
import { indexedRecords, rec } from "./support/records.js"

const drill = (tag: string): Drill => {
  const id = uniqueId()
  const p = `p${id}`
  const topic = `${tag}${id}`
  return { id, primary: inject("primaryBootstrap"), backup: inject("backupBootstrap"), p, b: `b${id}`, topic, remote: `${p}.${topic}` }
}

const commit = (bs: string, group: string, topic: string, offset: number) =>
  withAdmin(bs, (admin) => admin.commitGroupOffsets(group, [{ topic, partition: 0, offset: String(offset) }]))

/** Waits until `group` on backup stands at `want` (index = partition; partitions at -1 are not checked). */
const syncedTo = (d: Drill, group: string, want: ReadonlyArray<number>) =>
  eventually(
    `group ${group} on backup at ${want.join(",")}`,
    groupOffsets(d.backup, group, d.remote),
    (os) => want.every((w, p) => w < 0 || os[p] === w),
    { timeout: "60 seconds", interval: "200 millis" }
  )

const NO_LOSS = { reRead: 0, skipped: 0, foreign: 0 }

const values = (rs: ReadonlyArray<readonly [number, { readonly value: Buffer | null }]>) => rs.map(([, r]) => String(r.value))

describe.concurrent("failover drills", () => {
  it.scopedLive("1. transactional source with committed and aborted transactions (read_committed): exactly once", () =>
    Effect.gen(function*() {
      const d = drill("tx")
      yield* createTopic(d.primary, d.topic, 2)
      // 40 transactions of 50 records over 2 partitions; every 3rd aborted
      const produced = yield* runFixture("TransactionalProducer", [d.primary, d.topic, `tx-${d.id}`, "40", "50", "2", "3"], {
        timeout: "90 seconds"
      })
      expect(produced.stdout).toContain("done committed=27 aborted=13")
      const committedValue = (v: string) => (Number(/^tx(\d+)-/.exec(v)?.[1] ?? "-1") + 1) % 3 !== 0
      // the whole log as written, aborted records included (read_uncommitted)
      const log = yield* readAll(d.primary, d.topic, 2000)
      const inLog = log.map((rs) => rs.map((r) => ({ offset: Number(r.offset), value: r.value!.toString("utf8") })))
      const committed = inLog.map((rs) => rs.filter((r) => committedValue(r.value)))
      const expected = committed.flat().map((r) => r.value)
      expect(expected.length).toBe(27 * 50)
      // a group at source offset x resumes on backup at the number of committed records before x
      const truth = (partition: number, x: number) => (x < 0 ? -1 : committed[partition]!.filter((r) => r.offset < x).length)

      yield* replicate(d, { [`${d.p}.consumer.isolation.level`]: "read_committed" })
      const group = `tx-app-${d.id}`
      const before = yield* runApplication(d.primary, group, d.topic, { records: 700 }, { readCommitted: true })
      const want = before.committed.map((x, p) => truth(p, x))
      console.log(`[failover drills] transactional: primary group at ${before.committed.join(",")} -> backup ${want.join(",")}`)
      yield* waitForCount(d.backup, d.remote, expected.length)
      yield* syncedTo(d, group, want)
      const after = yield* runApplication(d.backup, group, d.remote, "end")
      expect(tally("1. transactional source", expected, [before.processed, after.processed])).toEqual(NO_LOSS)
      // no aborted record was copied
      expect(yield* endOffsets(d.backup, d.remote)).toEqual(committed.map((rs) => rs.length))
    }), 180_000)

  it.scopedLive("2. compacted source (offset gaps): exactly once", () =>
    Effect.gen(function*() {
      const d = drill("cmp")
      yield* createTopic(d.primary, d.topic, 2, {
        "cleanup.policy": "compact",
        "segment.ms": "100",
        "min.cleanable.dirty.ratio": "0.01",
        "delete.retention.ms": "0"
      })
      // 40 rounds, each one batch per partition overwriting a pseudo-random quarter of 60 keys;
      // timestamps 150 ms apart (> segment.ms) make every batch roll a new segment
      const base = Date.now() - 60_000
      let x = 12345
      const writes: Array<PartitionWrite> = []
      for (let round = 0; round < 40; round++) {
        for (let partition = 0; partition < 2; partition++) {
          const records = []
          for (let k = 0; k < 60; k++) {
            x = (Math.imul(x, 1664525) + 1013904223) >>> 0
            if (x >>> 30 === 0 || k === round) {
              records.push(rec({ key: `key-${partition}-${k}`, value: `cmp:${round}:${partition}:${k}`, timestamp: base + round * 150 }))
            }
          }
          writes.push({ topic: d.topic, partition, records })
        }
      }
      const written = sum(writes.map((w) => w.records.length))
      yield* produceWrites(d.primary, writes)
      const t0 = Date.now()
      const hasGaps = (rs: ReadonlyArray<SeenRecord>) => rs.length > 0 && rs.length < rs[rs.length - 1]!.offset + 1
      // the broker's cleaner looks for work every 15 s (log.cleaner.backoff.ms) and, on a busy
      // machine, may compact in several passes: the source counts as compacted once it has gaps
      // and stayed the same for longer than one backoff (no new segment rolls: nothing is appended)
      let last = ""
      let since = Date.now()
      const source = yield* eventually(
        "the source to be compacted (offset gaps in both partitions, unchanged for 20 s) within 90 s",
        readToEnd(d.primary, d.topic),
        (ps) => {
          const now = JSON.stringify(ps.map((rs) => rs.map((r) => r.offset)))
          if (now !== last) {
            last = now
            since = Date.now()
          }
          return ps.length === 2 && ps.every(hasGaps) && Date.now() - since >= 20_000
        },
        { timeout: "90 seconds", interval: "2 seconds" }
      )
      const expected = source.flat().map((r) => r.value)
      console.log(
        `[failover drills] compaction: ${written} records written, ${expected.length} left after ${Date.now() - t0} ms ` +
          `(partitions end at ${source.map((rs) => rs[rs.length - 1]!.offset + 1).join(",")})`
      )
      const truth = (partition: number, at: number) => (at < 0 ? -1 : source[partition]!.filter((r) => r.offset < at).length)

      yield* replicate(d)
      const group = `cmp-app-${d.id}`
      const before = yield* runApplication(d.primary, group, d.topic, { records: Math.floor(expected.length / 2) })
      const want = before.committed.map((at, p) => truth(p, at))
      console.log(`[failover drills] compacted: primary group at ${before.committed.join(",")} -> backup ${want.join(",")}`)
      yield* waitForCount(d.backup, d.remote, expected.length)
      yield* syncedTo(d, group, want)
      const after = yield* runApplication(d.backup, group, d.remote, "end")
      expect(tally("2. compacted source", expected, [before.processed, after.processed])).toEqual(NO_LOSS)
      // what a consumer on primary reads did not change during the drill
      expect(yield* readToEnd(d.primary, d.topic)).toEqual(source)
    }), 180_000)

  it.scopedLive("3. a group far behind under live load: backup group reaches the primary's offsets, then exactly once", () =>
    Effect.gen(function*() {
      const d = drill("lag")
      yield* createTopic(d.primary, d.topic, 3)
      const initial = indexedRecords("lag", 20_000, 3)
      yield* produceToPartitions(d.primary, d.topic, initial)
      yield* replicate(d)
      yield* waitForCount(d.backup, d.remote, 20_000)
      const group = `lag-app-${d.id}`
      // 500 records: part-way into each partition
      const before = yield* runApplicationPerPartition(d.primary, group, d.topic, [167, 167, 166])
      const live = Array.from({ length: 10 }, (_, i) => indexedRecords(`live${i}`, 1000, 3))
      let batchesDone = 0
      const producer = yield* Effect.forkScoped(Effect.forEach(live, (batch) =>
        Effect.gen(function*() {
          yield* produceToPartitions(d.primary, d.topic, batch)
          batchesDone++
          yield* Effect.sleep("1 second")
        }), { discard: true }))
      // identity mapping (no gaps): the same offsets
      yield* syncedTo(d, group, before.committed)
      console.log(
        `[failover drills] lagging group at ${before.committed.join(",")} synced to backup while live load ran ` +
          `(${batchesDone}/10 live batches produced by then)`
      )
      yield* Fiber.join(producer)
      const ends = yield* endOffsets(d.primary, d.topic)
      expect(sum(ends)).toBe(30_000)
      yield* eventually(`backup to catch up with ${ends.join(",")}`, endOffsets(d.backup, d.remote), (os) => os.join() === ends.join(), {
        timeout: "90 seconds"
      })
      const after = yield* runApplication(d.backup, group, d.remote, "end", { timeout: "90 seconds" })
      const expected = [...values(initial), ...live.flatMap(values)]
      expect(tally("3. lagging group under live load", expected, [before.processed, after.processed])).toEqual(NO_LOSS)
    }), 180_000)

  it.scopedLive("5. a group ahead of replication: backup never past the target log end, then exactly at the primary's offsets", () =>
    Effect.gen(function*() {
      const d = drill("ahead")
      yield* createTopic(d.primary, d.topic, 2)
      const first = indexedRecords("a", 200, 2)
      yield* produceToPartitions(d.primary, d.topic, first)
      const replicator = yield* replicate(d)
      yield* waitForCount(d.backup, d.remote, 200)
      const group = `ahead-app-${d.id}`
      const leg1 = yield* runApplication(d.primary, group, d.topic, { records: 60 })
      yield* syncedTo(d, group, leg1.committed)
      yield* replicator.stop()

      // while nothing replicates, the group moves past what the backup holds. The backlog is
      // written as single-record batches and the restarted replicator fetches one batch per
      // partition and request (max.partition.fetch.bytes = 1): catching up takes seconds, so its
      // checkpoint and group sync tasks really run while the group is ahead of the target
      const second = indexedRecords("b", 2000, 2)
      yield* produceWrites(d.primary, second.map(([partition, r]) => ({ topic: d.topic, partition, records: [r] })))
      const leg2 = yield* runApplication(d.primary, group, d.topic, "end")
      const ahead = [1100, 1100]
      expect(leg2.committed).toEqual(ahead)
      expect(yield* endOffsets(d.backup, d.remote)).toEqual([100, 100])

      // watchers: every checkpoint of the group as it arrives, and the backup group, each against
      // the backup log end read after it (the log end only grows: a violation seen is real)
      const kafka = yield* KafkaClient
      const backupAdmin = yield* adminClient(d.backup)
      const backupEnds = Effect.map(backupAdmin.fetchTopicOffsets(d.remote), toEndOffsets)
      const backupGroup = Effect.map(backupAdmin.fetchGroupOffsets(group, [d.remote]), (os) => {
        const out = [-1, -1]
        for (const o of os) if (o.topic === d.remote) out[o.partition] = Number(o.offset)
        return out
      })
      const violations: Array<string> = []
      let checkpointsSeen = 0
      let checkpointsWhileAhead = 0
      let polls = 0
      let pollsWhileAhead = 0
      const conn = yield* Effect.orDie(connectionSettings("it", new Map([["bootstrap.servers", d.backup]]), "it-checkpoint-follower"))
      const follower = yield* kafka.consumer(conn, {
        groupId: freshGroup("ckpt-follower"),
        topics: [`${d.p}.checkpoints.internal`],
        fromBeginning: true,
        partitionsConsumedConcurrently: 1
      })
      yield* Effect.forkScoped(follower.start((batch) =>
        Effect.gen(function*() {
          const mine = batch.records.flatMap((r) => {
            const c = Either.getOrUndefined(Checkpoint.decode(r.key!, r.value!))
            return c !== undefined && c.key.group === group ? [c] : []
          })
          if (mine.length === 0) return
          const ends = yield* Effect.orDie(backupEnds)
          for (const c of mine) {
            checkpointsSeen++
            if (c.value.offset < c.value.upstreamOffset) checkpointsWhileAhead++
            if (Number(c.value.offset) > ends[c.key.partition]!) {
              violations.push(`checkpoint ${c.value.upstreamOffset}->${c.value.offset} of partition ${c.key.partition}, backup log end ${ends.join(",")}`)
            }
          }
        })
      ))
      const poller = yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        const os = yield* Effect.orDie(backupGroup)
        const ends = yield* Effect.orDie(backupEnds)
        polls++
        if (os.some((o, p) => o >= 0 && ends[p]! < ahead[p]!)) pollsWhileAhead++
        if (os.some((o, p) => o > ends[p]!)) violations.push(`backup group at ${os.join(",")}, backup log end ${ends.join(",")}`)
        yield* Effect.sleep("50 millis")
      })))

      yield* replicate(d, { [`${d.p}.consumer.max.partition.fetch.bytes`]: "1" })
      yield* syncedTo(d, group, ahead)
      yield* Fiber.interrupt(poller)
      yield* follower.stop
      console.log(
        `[failover drills] 5. group ahead: ${polls} polls of the backup group (${pollsWhileAhead} while the target was behind the group), ` +
          `${checkpointsSeen} checkpoints checked (${checkpointsWhileAhead} translated short of the group's offset), ${violations.length} past the log end`
      )
      expect(violations).toEqual([])
      expect(checkpointsSeen).toBeGreaterThan(0)

      // failover: the backup group resumes exactly where primary stopped
      const third = indexedRecords("c", 40, 2)
      yield* produceToPartitions(d.primary, d.topic, third)
      yield* waitForCount(d.backup, d.remote, 2240)
      const leg3 = yield* runApplication(d.backup, group, d.remote, "end")
      const expected = [...values(first), ...values(second), ...values(third)]
      expect(tally("5. group ahead of replication", expected, [leg1.processed, leg2.processed, leg3.processed])).toEqual(NO_LOSS)
      expect(leg3.processed.length).toBe(40)
    }).pipe(Effect.provide(KafkaJsClient.layer)), 180_000)

  it.scopedLive("6. replicator restarts between commits: checkpoints and the backup group never go backwards", () =>
    Effect.gen(function*() {
      const d = drill("rst")
      yield* createTopic(d.primary, d.topic, 1)
      yield* produceToPartitions(d.primary, d.topic, indexedRecords("r0", 100, 1))
      const group = `rst-app-${d.id}`
      let replicator = yield* replicate(d)
      yield* waitForCount(d.backup, d.remote, 100)
      const seen: Array<number> = []
      const poller = yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        const o = (yield* Effect.either(groupOffsets(d.backup, group, d.remote)))
        if (Either.isRight(o) && o.right[0] !== undefined && o.right[0] !== seen[seen.length - 1]) seen.push(o.right[0])
        yield* Effect.sleep("100 millis")
      })))
      // 130 and 350 lie in records the running instance copied itself, 160 in records its predecessor copied
      const positions = [40, 130, 160, 350]
      for (const [i, at] of positions.entries()) {
        if (i > 0) {
          yield* replicator.stop()
          yield* produceToPartitions(d.primary, d.topic, indexedRecords(`r${i}`, 100, 1))
          replicator = yield* replicate(d)
        }
        yield* commit(d.primary, group, d.topic, at)
        yield* eventually(
          `a checkpoint of ${group} at ${at}`,
          checkpointsOf(d.backup, d.p),
          (cs) => cs.some((c) => c.group === group && c.upstream === at),
          { timeout: "60 seconds", interval: "500 millis" }
        )
      }
      yield* syncedTo(d, group, [350])
      yield* Fiber.interrupt(poller)
      const final = (yield* groupOffsets(d.backup, group, d.remote))[0]!
      if (final !== seen[seen.length - 1]) seen.push(final)
      const mine = (yield* checkpointsOf(d.backup, d.p)).filter((c) => c.group === group)
      const downstream = mine.map((c) => c.downstream)
      console.log(
        `[failover drills] 6. restarts: checkpoints (upstream->downstream) ${
          mine.map((c) => `${c.upstream}->${c.downstream}`).filter((s, i, a) => s !== a[i - 1]).join(" ")
        }; backup group ${seen.join(" ")}`
      )
      expect(decreases(downstream).map((i) => `${mine[i - 1]!.upstream}->${mine[i - 1]!.downstream} then ${mine[i]!.upstream}->${mine[i]!.downstream}`))
        .toEqual([])
      expect(decreases(seen)).toEqual([])
      yield* replicator.expectRunning
    }), 180_000)

  it.scopedLive("7. offset-syncs.topic.location = target: failover exactly once, syncs only on backup", () =>
    Effect.gen(function*() {
      const d = drill("tgt")
      yield* createTopic(d.primary, d.topic, 2)
      const records = indexedRecords("t", 600, 2)
      yield* produceToPartitions(d.primary, d.topic, records)
      yield* replicate(d, { "offset-syncs.topic.location": "target" })
      yield* waitForCount(d.backup, d.remote, 600)
      const group = `tgt-app-${d.id}`
      const before = yield* runApplication(d.primary, group, d.topic, { records: 250 })
      yield* syncedTo(d, group, before.committed)
      const after = yield* runApplication(d.backup, group, d.remote, "end")
      expect(tally("7. offset syncs on the target", values(records), [before.processed, after.processed])).toEqual(NO_LOSS)
      // on the target, MM2 names the topic after the source (the other cluster)
      expect((yield* listTopics(d.backup)).includes(`mm2-offset-syncs.${d.p}.internal`)).toBe(true)
      expect((yield* listTopics(d.primary)).includes(`mm2-offset-syncs.${d.b}.internal`)).toBe(false)
    }), 120_000)

  it.scopedLive("8. groups = keep-.*: keep-<id> is synced to backup, drop-<id> is not", () =>
    Effect.gen(function*() {
      const d = drill("flt")
      yield* createTopic(d.primary, d.topic, 1)
      yield* produceToPartitions(d.primary, d.topic, indexedRecords("f", 100, 1))
      yield* replicate(d, { groups: "keep-.*" })
      yield* waitForCount(d.backup, d.remote, 100)
      const keep = `keep-${d.id}`
      const drop = `drop-${d.id}`
      // drop first: every round that sees keep's commits also sees drop's
      yield* commit(d.primary, drop, d.topic, 40)
      yield* commit(d.primary, keep, d.topic, 30)
      yield* syncedTo(d, keep, [30])
      // and one more round after that
      yield* commit(d.primary, keep, d.topic, 60)
      yield* syncedTo(d, keep, [60])
      expect(yield* groupOffsets(d.backup, drop, d.remote)).toEqual([-1])
      expect((yield* checkpointsOf(d.backup, d.p)).filter((c) => c.group === drop)).toEqual([])
      expect(yield* withAdmin(d.backup, (admin) => admin.listGroups)).not.toContain(drop)
    }), 120_000)
})

// alone: a measurement, not to be disturbed by the other drills
describe("failover drills: live load", () => {
  it.scopedLive("4. live load: the backup group is never past the primary's (staleness measured)", () =>
    Effect.gen(function*() {
      const d = drill("live")
      yield* createTopic(d.primary, d.topic, 2)
      yield* replicate(d)
      const group = `live-app-${d.id}`
      const primaryAdmin = yield* adminClient(d.primary)
      const backupAdmin = yield* adminClient(d.backup)
      const positions = (admin: typeof primaryAdmin, topic: string) =>
        Effect.map(admin.fetchGroupOffsets(group, [topic]), (os) => {
          const out = [-1, -1]
          for (const o of os) if (o.topic === topic) out[o.partition] = Number(o.offset)
          return out
        })
      const app = yield* liveApplication(d.primary, group, d.topic, "20 millis")
      // warm-up: measure once replication, checkpoints and the group sync all run
      const warmUp = Date.now()
      yield* produceToPartitions(d.primary, d.topic, indexedRecords("warm", 100, 2))
      yield* syncedTo(d, group, [50, 50])
      console.log(`[failover drills] 4. live staleness: first records reached the backup group ${Date.now() - warmUp} ms after being produced (warm-up)`)

      const steps = 40
      let producing = true
      const producer = yield* Effect.forkScoped(Effect.gen(function*() {
        for (let i = 0; i < steps; i++) {
          yield* produceToPartitions(d.primary, d.topic, indexedRecords(`s${i}`, 100, 2))
          yield* Effect.sleep("150 millis")
        }
        producing = false
      }))
      interface Sample {
        readonly primary: ReadonlyArray<number>
        readonly backup: ReadonlyArray<number>
      }
      const samples: Array<Sample> = []
      let failedSamples = 0
      const t0 = Date.now()
      let stopAt = Number.POSITIVE_INFINITY
      while (Date.now() < stopAt) {
        // backup first: the primary's offsets only grow, so backup(t1) > primary(t2) is a real violation
        const sample = yield* Effect.either(Effect.all([positions(backupAdmin, d.remote), positions(primaryAdmin, d.topic)]))
        if (Either.isRight(sample)) samples.push({ backup: sample.right[0], primary: sample.right[1] })
        else failedSamples++
        if (!producing && stopAt === Number.POSITIVE_INFINITY) stopAt = Date.now() + 3_000
        yield* Effect.sleep("200 millis")
      }
      const loadMillis = Date.now() - t0
      yield* Fiber.join(producer)
      yield* app.stop
      const past = samples.filter((s) => s.backup.some((b, p) => b > s.primary[p]!))
      // what a failover at that instant would read again (a partition not synced yet: from its start)
      const staleness = samples.map((s) => sum(s.primary.map((c, p) => Math.max(0, c) - Math.max(0, s.backup[p]!))))
      const worst = Math.max(0, ...staleness)
      const mean = staleness.length === 0 ? 0 : Math.round(sum(staleness) / staleness.length)
      const last = samples[samples.length - 1]
      console.log(
        `[failover drills] 4. live staleness: ${samples.length} samples (${failedSamples} failed) over ${loadMillis} ms, ` +
          `${steps * 100} records produced, ${app.processed.length} processed; a failover would re-read at worst ${worst} records ` +
          `(mean ${mean}); backup past primary in ${past.length} samples; last sample primary ${last?.primary.join(",")} backup ${last?.backup.join(",")}`
      )
      expect(samples.length).toBeGreaterThan(0)
      expect(past).toEqual([])
    }).pipe(Effect.provide(KafkaJsClient.layer)), 180_000)
})
