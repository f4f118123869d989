/**
 * The admin's group operations on a real broker: committed offsets of many groups in few
 * requests (FindCoordinator v4 and OffsetFetch v8, our own encoding), their commit metadata,
 * group states, and commits from outside a group, with metadata, refused while it has members.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { inject } from "vitest"
import { connectionSettings } from "../../src/kafka/ClientSettings.js"
import { KafkaClient } from "../../src/kafka/KafkaClient.js"
import * as KafkaJsClient from "../../src/kafka/KafkaJsClient.js"
import { adminClient, createTopic, freshGroup, produceToPartitions, uniqueId } from "./support/kafka.js"
import { indexedRecords } from "./support/records.js"

describe("group admin", () => {
  it.scopedLive("fetches many groups' offsets with metadata in a few requests, describes and commits", () =>
    Effect.gen(function*() {
      const bs = inject("primaryBootstrap")
      const topic = `ga-${uniqueId()}`
      yield* createTopic(bs, topic, 3)
      const admin = yield* adminClient(bs)
      const groups = Array.from({ length: 50 }, (_, i) => `${freshGroup("ga")}-${i}`)
      for (const [i, g] of groups.entries()) {
        yield* admin.commitGroupOffsets(g, [
          { topic, partition: 0, offset: String(i), metadata: `meta-${i}` },
          { topic, partition: 2, offset: String(i + 100) }
        ])
      }
      const unknown = freshGroup("never")
      const before = yield* admin.requests
      const result = yield* admin.fetchOffsetsOfGroups([...groups, unknown], [topic])
      const cost = (yield* admin.requests) - before
      expect(result.failed).toEqual([])
      for (const [i, g] of groups.entries()) {
        const offsets = [...(result.offsets.get(g) ?? [])].sort((a, b) => a.partition - b.partition)
        expect(offsets).toEqual([
          { topic, partition: 0, offset: String(i), metadata: `meta-${i}` },
          { topic, partition: 2, offset: String(i + 100), metadata: "" }
        ])
      }
      expect(result.offsets.get(unknown)).toEqual([])
      // one FindCoordinator and one OffsetFetch on a single broker (plus metadata on first use)
      expect(cost).toBeLessThanOrEqual(4)

      const described = yield* admin.describeGroups([groups[0]!, unknown])
      expect(described.find((d) => d.group === groups[0])).toMatchObject({ state: "Empty", members: 0 })
      expect(described.find((d) => d.group === unknown)).toMatchObject({ state: "Dead", members: 0 })
    }))

  it.scopedLive("refuses a commit from outside while the group has an active member", () =>
    Effect.gen(function*() {
      const bs = inject("primaryBootstrap")
      const topic = `ga-${uniqueId()}`
      yield* createTopic(bs, topic, 1)
      yield* produceToPartitions(bs, topic, indexedRecords("g", 5, 1))
      const group = freshGroup("active")
      const kafka = yield* KafkaClient
      const conn = yield* Effect.orDie(connectionSettings("it", new Map([["bootstrap.servers", bs]]), "it-active"))
      const consumer = yield* kafka.consumer(conn, { groupId: group, topics: [topic], fromBeginning: true, partitionsConsumedConcurrently: 1 })
      const got = yield* Deferred.make<void>()
      const running = yield* Effect.fork(consumer.start(() => Deferred.succeed(got, undefined)))
      yield* Deferred.await(got)
      const admin = yield* adminClient(bs)
      const [d] = yield* admin.describeGroups([group])
      expect(d).toMatchObject({ state: "Stable", protocolType: "consumer", members: 1 })
      const refused = yield* Effect.flip(admin.commitGroupOffsets(group, [{ topic, partition: 0, offset: "3" }]))
      expect(refused.detail).toMatch(/UNKNOWN_MEMBER_ID|ILLEGAL_GENERATION|member/i)
      yield* consumer.stop
      yield* Fiber.interrupt(running)
    }).pipe(Effect.provide(KafkaJsClient.layer)), 60_000)
})
