/**
 * sync.group.offsets.enabled on real brokers: a consumer group that stops on primary resumes on
 * backup, by just joining its group there, with nothing skipped and nothing read twice; commit
 * metadata travels; a target group is never moved backwards, never written while it has members,
 * and left alone once it committed on the target itself.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Fiber } from "effect"
import { inject } from "vitest"
import { connectionSettings } from "../../src/kafka/ClientSettings.js"
import { KafkaClient } from "../../src/kafka/KafkaClient.js"
import * as KafkaJsClient from "../../src/kafka/KafkaJsClient.js"
import * as Checkpoint from "../../src/wire/Checkpoint.js"
import { runApplication } from "./support/application.js"
import {
  createTopic,
  eventually,
  flowProps,
  groupOffsets,
  produceToPartitions,
  readEverything,
  startReplicator,
  uniqueId,
  waitForCount,
  withAdmin
} from "./support/kafka.js"
import { indexedRecords } from "./support/records.js"

const SYNC_EVERY_SECOND = {
  "emit.checkpoints.interval.seconds": "1",
  "sync.group.offsets.enabled": "true",
  "sync.group.offsets.interval.seconds": "1"
}

const commit = (bs: string, group: string, topic: string, offset: number, metadata?: string) =>
  withAdmin(bs, (admin) =>
    admin.commitGroupOffsets(group, [{ topic, partition: 0, offset: String(offset), ...(metadata !== undefined ? { metadata } : {}) }]))

/** Waits until the checkpoints topic holds a checkpoint of `group` at source offset `upstream`. */
const checkpointed = (bs: string, source: string, group: string, upstream: number) =>
  eventually(
    `a checkpoint of ${group} at ${upstream}`,
    readEverything(bs, `${source}.checkpoints.internal`, 1, "30 seconds").pipe(
      Effect.map((ps) =>
        ps.flat().flatMap((r) => {
          const d = Checkpoint.decode(r.key!, r.value!)
          return Either.isRight(d) ? [d.right] : []
        })
      )
    ),
    (cs) => cs.some((c) => c.key.group === group && c.value.upstreamOffset === BigInt(upstream)),
    { timeout: "60 seconds", interval: "500 millis" }
  )

describe("group offset sync", () => {
  it.scopedLive("a group fails over to backup and resumes where it stopped: nothing skipped, nothing read twice", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [p, b] = [`p${id}`, `b${id}`]
      const topic = `fo${id}`
      const remote = `${p}.${topic}`
      const records = indexedRecords("fo", 3000, 3)
      yield* createTopic(primary, topic, 3)
      yield* produceToPartitions(primary, topic, records)
      yield* startReplicator(flowProps({
        source: p,
        target: b,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: topic,
        extra: SYNC_EVERY_SECOND
      }))
      yield* waitForCount(backup, remote, 3000)

      // the replicator's tasks are all running once a first group went through (start-up aside)
      const warmUp = `warm-up-${id}`
      yield* commit(primary, warmUp, topic, 1)
      yield* eventually(`${warmUp} on backup`, groupOffsets(backup, warmUp, remote), (os) => os[0] === 1, { timeout: "60 seconds" })

      const group = `orders-app-${id}`
      const before = yield* runApplication(primary, group, topic, { records: 1234 })
      const committedAt = Date.now()
      // the translated offsets appear in the group on backup (identical partitions: same offsets)
      yield* eventually(
        `group ${group} on backup at ${before.committed.join(",")}`,
        groupOffsets(backup, group, remote),
        (os) => before.committed.every((c, partition) => c < 0 || os[partition] === c),
        { timeout: "60 seconds", interval: "100 millis" }
      )
      console.log(`[group offset sync] source commit -> translated offset in the backup group: ${Date.now() - committedAt} ms`)

      const after = yield* runApplication(backup, group, remote, "end")
      const seen = [...before.processed, ...after.processed].map((r) => r.value)
      const twice = seen.filter((v, i) => seen.indexOf(v) !== i)
      const all = records.map(([, r]) => String(r.value))
      const missed = all.filter((v) => !seen.includes(v))
      expect({ reRead: twice.length, skipped: missed.length }).toEqual({ reRead: 0, skipped: 0 })
      expect(after.processed.length).toBe(3000 - 1234)
    }), 180_000)

  it.scopedLive("carries commit metadata, never moves a target group backwards, never writes a group with members or one that took over", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [p, b] = [`p${id}`, `b${id}`]
      const topic = `gs${id}`
      const remote = `${p}.${topic}`
      yield* createTopic(primary, topic, 1)
      yield* produceToPartitions(primary, topic, indexedRecords("gs", 100, 1))
      const replicator = yield* startReplicator(flowProps({
        source: p,
        target: b,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: topic,
        extra: SYNC_EVERY_SECOND
      }))
      yield* waitForCount(backup, remote, 100)
      const onBackup = (group: string) => groupOffsets(backup, group, remote).pipe(Effect.map((os) => os[0] ?? -1))

      // metadata travels; a rewind on the source does not move the target group back
      const rewound = `rewound-${id}`
      yield* commit(primary, rewound, topic, 40, "app-state-v1")
      yield* eventually(`${rewound} at 40 on backup`, onBackup(rewound), (o) => o === 40, { timeout: "60 seconds" })
      const meta = yield* withAdmin(backup, (admin) => admin.fetchOffsetsOfGroups([rewound], [remote]))
      expect(meta.offsets.get(rewound)?.find((o) => o.topic === remote)?.metadata).toBe("app-state-v1")
      yield* commit(primary, rewound, topic, 10)
      yield* checkpointed(backup, p, rewound, 10)
      yield* Effect.sleep("3 seconds") // three sync rounds
      expect(yield* onBackup(rewound)).toBe(40)

      // a group with an active member on backup is not written
      const active = `active-${id}`
      const kafka = yield* KafkaClient
      const conn = yield* Effect.orDie(connectionSettings("it", new Map([["bootstrap.servers", backup]]), "it-active"))
      const member = yield* kafka.consumer(conn, { groupId: active, topics: [remote], fromBeginning: false, partitionsConsumedConcurrently: 1 })
      const running = yield* Effect.fork(member.start(() => Effect.void))
      yield* eventually(`${active} to be Stable on backup`, withAdmin(backup, (a) => a.describeGroups([active])), (ds) => ds[0]?.state === "Stable", {
        timeout: "30 seconds"
      })
      yield* commit(primary, active, topic, 60)
      yield* checkpointed(backup, p, active, 60)
      yield* Effect.sleep("3 seconds")
      expect(yield* onBackup(active)).toBe(-1)
      yield* member.stop
      yield* Fiber.interrupt(running)
      // once it has no members, the group is written
      yield* eventually(`${active} at 60 on backup once empty`, onBackup(active), (o) => o === 60, { timeout: "60 seconds" })

      // a group that consumed and committed on backup itself is left alone from then on
      const takenOver = `taken-over-${id}`
      yield* commit(primary, takenOver, topic, 20)
      yield* eventually(`${takenOver} at 20 on backup`, onBackup(takenOver), (o) => o === 20, { timeout: "60 seconds" })
      const app = yield* runApplication(backup, takenOver, remote, { records: 7 })
      expect(app.committed[0]).toBe(27)
      yield* commit(primary, takenOver, topic, 90)
      yield* checkpointed(backup, p, takenOver, 90)
      yield* Effect.sleep("3 seconds")
      expect(yield* onBackup(takenOver)).toBe(27)
      expect(replicator.logs().some((l) => l.level === "WARN" && l.message.includes(takenOver) && l.message.includes("itself"))).toBe(true)
      yield* replicator.expectRunning
    }).pipe(Effect.provide(KafkaJsClient.layer)), 180_000)
})
