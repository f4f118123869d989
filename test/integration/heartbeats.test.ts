/**
 * Heartbeats (MM2's MirrorHeartbeatConnector) on real brokers: every herder writes records in
 * MM2's byte layout into its target's `heartbeats` topic, and flows replicate those topics, so
 * the heartbeats the backup->primary herder writes into primary arrive on backup as
 * `<primary>.heartbeats`, byte for byte.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { inject } from "vitest"
import type { KafkaRecord } from "../../src/kafka/KafkaRecord.js"
import { eventually, flowProps, partitionCount, readEverything, startReplicator, uniqueId } from "./support/kafka.js"

/** Kafka STRING: INT16 length, UTF-8 bytes. Written by hand here, independently of src/wire. */
const kafkaString = (s: string): Buffer => {
  const bytes = Buffer.from(s, "utf8")
  const length = Buffer.alloc(2)
  length.writeInt16BE(bytes.length)
  return Buffer.concat([length, bytes])
}

const heartbeatKey = (source: string, target: string): Buffer => Buffer.concat([kafkaString(source), kafkaString(target)])

/** Heartbeat records of one herder (by key bytes) in a topic. */
const heartbeatsOf = (bs: string, topic: string, source: string, target: string, min: number) =>
  eventually(
    `${min} heartbeats of ${source}->${target} in ${topic} on ${bs}`,
    Effect.map(readEverything(bs, topic, 1), (partitions) =>
      partitions.flat().filter((r) => r.key !== null && r.key.equals(heartbeatKey(source, target)))),
    (rs) => rs.length >= min,
    { timeout: "60 seconds", interval: "1 second" }
  )

describe("heartbeats", () => {
  it.scopedLive("each herder writes MM2-layout heartbeats to its target, and flows replicate them as <source>.heartbeats", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [p, b] = [`p${id}`, `b${id}`]
      const startedAt = Date.now()
      // one flow p->b: MM2 runs herder p->b (replication + heartbeats into b) and the
      // heartbeat-only herder b->p (heartbeats into p)
      const replicator = yield* startReplicator(flowProps({
        source: p,
        target: b,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: `hb${id}.*`,
        // MM2's default, which the test harness turns off for every other test
        extra: { "heartbeats.replication.enabled": "true" }
      }))
      expect(replicator.settings.herderPairs.map((h) => h.settings.name)).toEqual([`${p}->${b}`, `${b}->${p}`])

      const written: ReadonlyArray<KafkaRecord> = yield* heartbeatsOf(backup, "heartbeats", p, b, 2)
      expect(yield* partitionCount(backup, "heartbeats")).toBe(1)
      const now = Date.now()
      for (const r of written) {
        expect(r.key?.toString("hex")).toBe(heartbeatKey(p, b).toString("hex"))
        expect(r.value?.length, "value = INT16 version + INT64 timestamp").toBe(10)
        expect(r.value?.readInt16BE(0), "version").toBe(0)
        const timestamp = r.value!.readBigInt64BE(2)
        expect(timestamp.toString(), "the record timestamp is the heartbeat's").toBe(r.timestamp)
        expect(Number(timestamp)).toBeGreaterThanOrEqual(startedAt - 1_000)
        expect(Number(timestamp)).toBeLessThanOrEqual(now)
        expect(r.headers).toEqual([])
      }
      // about one per emit.heartbeats.interval.seconds (1 s): distinct, increasing timestamps
      const stamps = written.map((r) => BigInt(r.timestamp))
      expect([...stamps].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual(stamps)
      expect(new Set(stamps).size).toBe(stamps.length)

      // b->p's heartbeats, written into primary, reach backup through the flow, unchanged
      const onPrimary = yield* heartbeatsOf(primary, "heartbeats", b, p, 1)
      const replicated = yield* heartbeatsOf(backup, `${p}.heartbeats`, b, p, 1)
      const first = replicated[0]!
      const original = onPrimary.find((r) => r.timestamp === first.timestamp)
      expect(original, `a heartbeat of ${b}->${p} at ${first.timestamp} on primary`).toBeDefined()
      expect(first.value?.equals(original!.value!)).toBe(true)
      expect(first.key?.equals(original!.key!)).toBe(true)
      yield* replicator.expectRunning
    }), 120_000)
})
