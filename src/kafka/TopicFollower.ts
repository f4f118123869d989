/**
 * Reading a single-partition internal topic (offset syncs, checkpoints) from its start and then
 * following it, as MM2's KafkaBasedLog does. kafkajs only consumes through a group, so an
 * ephemeral group of ours does the reading; it never commits.
 */
import { Deferred, Effect } from "effect"
import { randomUUID } from "node:crypto"
import { OWN_GROUP_PREFIX } from "../flow/FlowContext.js"
import type { ConnectionSettings } from "./ClientSettings.js"
import { KafkaClient } from "./KafkaClient.js"
import type { KafkaRecord } from "./KafkaRecord.js"

/**
 * Reads partition 0 of `topic` from its start, handing every record to `onRecord`, and resolves
 * `caughtUp` once it has read what the topic held at the start. An ephemeral group of ours
 * (never committed) does the reading.
 */
export const followTopic = (
  connection: ConnectionSettings,
  topic: string,
  role: string,
  onRecord: (r: KafkaRecord) => Effect.Effect<void>
) =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    const admin = yield* kafka.admin(connection)
    const end = BigInt((yield* admin.fetchTopicOffsets(topic)).find((p) => p.partition === 0)?.high ?? "0")
    const caughtUp = yield* Deferred.make<void>()
    if (end === 0n) yield* Deferred.succeed(caughtUp, undefined)
    const consumer = yield* kafka.consumer(connection, {
      groupId: `${OWN_GROUP_PREFIX}${role}.${randomUUID()}`,
      topics: [topic],
      fromBeginning: true,
      partitionsConsumedConcurrently: 1
    })
    yield* consumer.start((batch) =>
      Effect.gen(function*() {
        if (batch.partition !== 0) return
        for (const r of batch.records) yield* onRecord(r)
        const last = batch.records[batch.records.length - 1]
        if (last !== undefined && BigInt(last.offset) + 1n >= end) yield* Deferred.succeed(caughtUp, undefined)
      })
    )
    return { caughtUp: Deferred.await(caughtUp), crashed: consumer.crashed, stop: consumer.stop }
  })
