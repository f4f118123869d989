/**
 * The operator's failover and failback with `translate-offsets --apply` (group offset sync off),
 * on real brokers, as the README runbook does it: a group consumes part of a topic on primary,
 * moves to backup, consumes more of the remote topic there, moves back to primary, and finishes.
 * Every record is processed exactly once across the three legs. `--apply` is refused while the
 * group has members where it moves to.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { inject } from "vitest"
import { connectionSettings } from "../../src/kafka/ClientSettings.js"
import { KafkaClient } from "../../src/kafka/KafkaClient.js"
import * as KafkaJsClient from "../../src/kafka/KafkaJsClient.js"
import { runApplication } from "./support/application.js"
import { createTopic, eventually, flowProps, produceToPartitions, startReplicator, uniqueId, waitForCount, withAdmin, writeProps } from "./support/kafka.js"
import { spawnMm2 } from "./support/process.js"
import { indexedRecords } from "./support/records.js"

const translateOffsets = (file: string, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const cli = yield* spawnMm2(["translate-offsets", "--config", file, ...args])
    const status = yield* cli.waitExit("60 seconds", "effect-mm2 translate-offsets")
    return { code: status.code, stdout: cli.stdout(), stderr: cli.stderr(), tail: cli.tail() }
  }).pipe(Effect.scoped)

describe("failover and failback with translate-offsets --apply", () => {
  it.scopedLive("a group moves to backup and back to primary, processing every record exactly once", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [p, b] = [`p${id}`, `b${id}`]
      const topic = `fb${id}`
      const remote = `${p}.${topic}`
      const records = indexedRecords("fb", 1000, 2)
      yield* createTopic(primary, topic, 2)
      yield* produceToPartitions(primary, topic, records)
      const props = flowProps({ source: p, target: b, sourceBootstrap: primary, targetBootstrap: backup, topics: topic })
      yield* startReplicator(props)
      yield* waitForCount(backup, remote, 1000)
      const file = yield* writeProps(props)
      const group = `billing-${id}`
      const args = ["--group", group, "--source", p, "--target", b]

      const leg1 = yield* runApplication(primary, group, topic, { records: 300 })
      const committed = leg1.committed.filter((c) => c >= 0).length
      // the offset syncs reach the newest records a flush interval after they were written
      yield* eventually(
        `translate-offsets to answer exactly for the ${committed} partition(s) the group committed`,
        translateOffsets(file, args),
        (r) => r.code === 0 && (r.stdout.match(/\texact$/gm) ?? []).length === committed,
        { timeout: "60 seconds", interval: "1 second" }
      )
      const failover = yield* translateOffsets(file, [...args, "--apply"])
      expect(failover.code, failover.tail).toBe(0)
      expect(failover.stdout).toContain(`applied: group ${group} on ${b}: ${committed} partition(s) written`)

      const leg2 = yield* runApplication(backup, group, remote, { records: 400 })
      const failback = yield* translateOffsets(file, [...args, "--reverse", "--apply"])
      expect(failback.code, failback.tail).toBe(0)
      const onBackup = leg2.committed.filter((c) => c >= 0).length
      expect((failback.stdout.match(/\texact$/gm) ?? []).length).toBe(onBackup)
      // The remote topic's offsets equal the source's here (plain records replicated from offset 0),
      // so a partition leg 2 did not consume maps back to where leg 1 left it on primary: --apply
      // leaves that one as it is and writes only the partitions the group moved on backup.
      const moved = leg2.committed.filter((c, partition) => c >= 0 && c > (leg1.committed[partition] ?? -1)).length
      expect(failback.stdout).toContain(`applied: group ${group} on ${p}: ${moved} partition(s) written`)
      expect((failback.stdout.match(/^left /gm) ?? []).length).toBe(onBackup - moved)

      const leg3 = yield* runApplication(primary, group, topic, "end")
      const seen = [...leg1.processed, ...leg2.processed, ...leg3.processed].map((r) => r.value)
      const counts = new Map<string, number>()
      for (const v of seen) counts.set(v, (counts.get(v) ?? 0) + 1)
      const all = records.map(([, r]) => String(r.value))
      expect({
        reRead: [...counts.values()].filter((n) => n > 1).length,
        skipped: all.filter((v) => !counts.has(v)).length
      }).toEqual({ reRead: 0, skipped: 0 })
      expect(leg2.processed.length).toBe(400)
    }), 180_000)

  it.scopedLive("--apply is refused while the group has members where it moves to", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [p, b] = [`p${id}`, `b${id}`]
      const topic = `fr${id}`
      const remote = `${p}.${topic}`
      yield* createTopic(primary, topic, 1)
      yield* produceToPartitions(primary, topic, indexedRecords("fr", 50, 1))
      const props = flowProps({ source: p, target: b, sourceBootstrap: primary, targetBootstrap: backup, topics: topic })
      yield* startReplicator(props)
      yield* waitForCount(backup, remote, 50)
      const group = `busy-${id}`
      yield* withAdmin(primary, (admin) => admin.commitGroupOffsets(group, [{ topic, partition: 0, offset: "20" }]))
      const kafka = yield* KafkaClient
      const conn = yield* Effect.orDie(connectionSettings("it", new Map([["bootstrap.servers", backup]]), "it-busy"))
      const member = yield* kafka.consumer(conn, { groupId: group, topics: [remote], fromBeginning: false, partitionsConsumedConcurrently: 1 })
      const running = yield* Effect.fork(member.start(() => Effect.void))
      yield* eventually(`${group} Stable on backup`, withAdmin(backup, (a) => a.describeGroups([group])), (ds) => ds[0]?.state === "Stable", {
        timeout: "30 seconds"
      })
      const file = yield* writeProps(props)
      const refused = yield* translateOffsets(file, ["--group", group, "--source", p, "--target", b, "--apply"])
      expect(refused.code).toBe(1)
      expect(refused.stderr).toMatch(new RegExp(`consumer group ${group} has 1 active member\\(s\\) on ${b}`))
      yield* member.stop
      yield* Fiber.interrupt(running)
    }).pipe(Effect.provide(KafkaJsClient.layer)), 120_000)
})
