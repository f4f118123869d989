/**
 * Java MirrorMaker 2's own client library (connect-mirror-client 4.3.1, RemoteClusterUtils)
 * reading what effect-mm2 wrote on the target: the checkpoints translate a group exactly as we
 * wrote them, and the checkpoint and heartbeat topics and upstream clusters are found.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { inject } from "vitest"
import * as MirrorClient from "../../src/client/MirrorClient.js"
import { connectionSettings } from "../../src/kafka/ClientSettings.js"
import * as KafkaJsClient from "../../src/kafka/KafkaJsClient.js"
import * as DefaultReplicationPolicy from "../../src/policy/DefaultReplicationPolicy.js"
import { createTopic, eventually, flowProps, produceToPartitions, startReplicator, uniqueId, waitForCount, withAdmin, writeProps } from "./support/kafka.js"
import { probe } from "./support/mirrorClient.js"
import { spawnMm2 } from "./support/process.js"
import { indexedRecords } from "./support/records.js"

describe("interoperability with Java MM2's client library", () => {
  it.scopedLive("RemoteClusterUtils translates a group from our checkpoints and finds our internal topics", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [p, b] = [`p${id}`, `b${id}`]
      const topic = `interop${id}`
      const group = `interop-app-${id}`
      yield* createTopic(primary, topic, 2)
      yield* produceToPartitions(primary, topic, indexedRecords("i", 60, 2))
      const props = flowProps({
        source: p,
        target: b,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: topic,
        extra: { "emit.checkpoints.interval.seconds": "1", "heartbeats.replication.enabled": "true" }
      })
      yield* startReplicator(props)
      yield* waitForCount(backup, `${p}.${topic}`, 60)
      yield* withAdmin(primary, (admin) =>
        admin.commitGroupOffsets(group, [{ topic, partition: 0, offset: "12" }, { topic, partition: 1, offset: "30" }])
      )
      const seen = yield* eventually(
        `RemoteClusterUtils.translateOffsets(${p}, ${group}) on the target`,
        probe(backup, p, group),
        (r) => r.translated.length === 2,
        { timeout: "90 seconds", interval: "2 seconds" }
      )
      expect([...seen.translated].sort()).toEqual([`${p}.${topic} 0 12`, `${p}.${topic} 1 30`])
      expect(seen.checkpointTopics).toContain(`${p}.checkpoints.internal`)
      expect(seen.heartbeatTopics).toContain("heartbeats")

      // our translate-offsets, from the offset syncs, agrees with what Java read from our checkpoints
      const cli = yield* spawnMm2(["translate-offsets", "--config", yield* writeProps(props), "--group", group, "--source", p, "--target", b])
      const status = yield* cli.waitExit("60 seconds", "effect-mm2 translate-offsets")
      expect(status.code, cli.tail()).toBe(0)
      const rows = cli.stdout().split("\n").filter((l) => l.startsWith(`${topic}\t`)).map((l) => l.split("\t"))
      expect(rows.map((r) => `${r[3]} ${r[1]} ${r[4]}`).sort()).toEqual([...seen.translated].sort())
      expect(rows.map((r) => r[5])).toEqual(["exact", "exact"])

      // our MirrorClient reads the backup cluster as Java's RemoteClusterUtils does
      const ours = yield* Effect.gen(function*() {
        const client = yield* MirrorClient.make(
          yield* Effect.orDie(connectionSettings("it", new Map([["bootstrap.servers", backup]]), "it-mirror-client")),
          DefaultReplicationPolicy.make()
        )
        return {
          translated: (yield* client.remoteConsumerOffsets(group, p)).map((o) => `${o.topic} ${o.partition} ${o.offset}`),
          checkpointTopics: yield* client.checkpointTopics,
          heartbeatTopics: yield* client.heartbeatTopics,
          upstreamClusters: yield* client.upstreamClusters,
          hops: yield* client.replicationHops(p),
          remote: yield* client.remoteTopics(p)
        }
      }).pipe(Effect.scoped, Effect.provide(KafkaJsClient.layer))
      expect([...ours.translated].sort()).toEqual([...seen.translated].sort())
      expect(ours.checkpointTopics).toContain(`${p}.checkpoints.internal`)
      expect(ours.heartbeatTopics).toEqual(expect.arrayContaining(["heartbeats", `${p}.heartbeats`]))
      expect(ours.upstreamClusters).toContain(p)
      expect(ours.hops).toBe(1)
      expect(ours.remote).toEqual(expect.arrayContaining([`${p}.${topic}`, `${p}.heartbeats`]))
    }), 180_000)
})
