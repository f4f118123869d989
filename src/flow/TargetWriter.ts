/**
 * Writes renamed batches to the target with one producer, one request at a time (so a retried
 * request can never overtake a later one and per-partition order holds). A request carries one
 * record batch per partition; each is kept under the producer's `max.request.size` because the
 * broker rejects batches above its `message.max.bytes` (1 MiB by default). Many partitions go in
 * one request (up to ROUND_MAX_BYTES), so round trips, not bytes, are what a round costs.
 */
import { Clock, Context, Duration, Effect, Layer, Metric, ScopedRef } from "effect"
import { bytesReplicated, recordsReplicated } from "../telemetry/Metrics.js"
import * as TracingProduceRound from "../telemetry/TracingProduceRound.js"
import * as Progress from "../telemetry/Progress.js"
import { KafkaClient } from "../kafka/KafkaClient.js"
import { KafkaError } from "../kafka/KafkaError.js"
import { topicPartitionKey } from "../kafka/KafkaRecord.js"
import { FlowContext } from "./FlowContext.js"
import { PolicyRenamer } from "./PolicyRenamer.js"
import { type Chunk, chunksOf, roundsOf } from "./ProduceRounds.js"
import { type AckedBatch, ReplicationLog } from "./ReplicationLog.js"
import * as FailureStreak from "../supervision/FailureStreak.js"
import { retryTransientWith } from "./Retry.js"
import type { SourceBatch } from "./SourceReader.js"

export class TargetWriter extends Context.Tag("effect-mm2/TargetWriter")<TargetWriter, {
  /**
   * Writes the batches (in order per partition), records where each part landed in the
   * ReplicationLog, and runs each batch's `ack` once all of it was acknowledged.
   */
  readonly write: (batches: ReadonlyArray<SourceBatch>) => Effect.Effect<void, KafkaError>
}>() {
  static readonly make = Effect.gen(function*() {
    const ctx = yield* FlowContext
    const renamer = yield* PolicyRenamer
    const log = yield* ReplicationLog
    // one root span per round, or nothing at all when no tracer is installed
    const roundSpan = yield* TracingProduceRound.make(ctx.name)
    const flowRecords = Metric.tagged(recordsReplicated, "flow", ctx.name)
    const flowBytes = Metric.tagged(bytesReplicated, "flow", ctx.name)
    const flowKey = { name: ctx.name, source: ctx.settings.source, target: ctx.settings.target }
    const kafka = yield* KafkaClient
    const connect = kafka.producer(ctx.targetProducer, ctx.targetProducerSettings)
    const producer = yield* ScopedRef.fromAcquire(connect)
    // a send that fails or hangs gets a fresh producer for its retry: fresh metadata (a remote
    // topic that just grew) and no state left over from a request that never completed
    const reconnect = ScopedRef.set(producer, connect).pipe(Effect.ignore)
    const sendTimeout = Duration.millis(ctx.targetProducerSettings.requestTimeoutMs + 10_000)
    const maxBytes = ctx.targetProducerSettings.maxRequestBytes
    const acksExpected = ctx.targetProducerSettings.acks !== 0
    // one run of failures across rounds: a target that stays down escalates to ERROR
    const streak = yield* FailureStreak.make(`writing to cluster '${ctx.settings.target}'`)

    /**
     * A refused batch, named by source topic, partition and offsets. The broker does not say which
     * partition of a request was too large: the largest batch of the request is the one above the
     * limit whenever only one is (always, when the request held one batch).
     */
    const tooLarge = (e: KafkaError, pending: ReadonlyArray<Chunk>): KafkaError => {
      const largest = pending.reduce((a, c) => (c.bytes > a.bytes ? c : a))
      const records = largest.source.records
      return new KafkaError({
        cluster: e.cluster,
        operation: e.operation,
        reason: e.reason,
        retriable: false,
        topic: largest.source.topic,
        partition: largest.source.partition,
        offsets: { first: records[0]?.offset ?? "?", last: records[records.length - 1]?.offset ?? "?" },
        detail: `${e.detail}: a record batch of ${records.length} records, about ${largest.bytes} bytes, for ${largest.write.topic}` +
          `${pending.length > 1 ? ` (the largest of the ${pending.length} batches in the request)` : ""}; ` +
          "raise the target's message.max.bytes (or the remote topic's max.message.bytes) to replicate it",
        cause: e.cause
      })
    }

    /**
     * Sends one round; partitions the broker did not acknowledge (kafkajs skips partitions its
     * metadata does not know yet) are sent again with backoff, the acknowledged ones are not.
     */
    const sendRound = (round: ReadonlyArray<Chunk>) => {
      let pending = round
      const acked: Array<AckedBatch> = []
      const send = Effect.flatMap(ScopedRef.get(producer), (p) => p.send(pending.map((c) => c.write))).pipe(
        Effect.timeoutFail({
          duration: sendTimeout,
          onTimeout: () =>
            new KafkaError({
              cluster: ctx.settings.target,
              operation: "produce",
              reason: "Transient",
              retriable: true,
              detail: `no response within ${Duration.format(sendTimeout)}`
            })
        })
      )
      const attempt = Effect.suspend(() => send).pipe(
        Effect.mapError((e) => (e.reason === "RecordTooLarge" ? tooLarge(e, pending) : e)),
        Effect.flatMap((acks) => {
          const base = new Map<string, string>()
          for (const a of acks) base.set(topicPartitionKey(a.topic, a.partition), a.baseOffset)
          const missing: Array<Chunk> = []
          for (const c of pending) {
            const b = base.get(topicPartitionKey(c.write.topic, c.write.partition))
            if (b === undefined && acksExpected) {
              missing.push(c)
              continue
            }
            acked.push({
              sourceTopic: c.source.topic,
              targetTopic: c.write.topic,
              partition: c.write.partition,
              records: c.source.records,
              // acks=0 gives no offsets: -1 marks "unknown" (offset translation needs acks)
              targetBaseOffset: BigInt(b ?? "-1")
            })
          }
          pending = missing
          return missing.length === 0 ? Effect.succeed(acked) : Effect.fail(
            new KafkaError({
              cluster: ctx.settings.target,
              operation: "produce",
              reason: "Transient",
              retriable: true,
              topic: missing[0]!.write.topic,
              detail: `no acknowledgement for partitions ${missing.map((c) => `${c.write.topic}-${c.write.partition}`).join(", ")}`
            })
          )
        }),
        Effect.tapError((e) => (e.retriable ? reconnect : Effect.void)),
        retryTransientWith(streak)
      )
      return attempt
    }

    const write = (batches: ReadonlyArray<SourceBatch>) =>
      Effect.gen(function*() {
        const chunks: Array<Chunk> = []
        // a batch is acknowledged as soon as the round holding its last chunk is, not at the end
        // of the whole call: progress advances per round
        const ackAfter = new Map<Chunk, Effect.Effect<void>>()
        for (const b of batches) {
          const parts = chunksOf(b.batch, renamer.rename(b.batch), maxBytes)
          for (const c of parts) chunks.push(c)
          ackAfter.set(parts[parts.length - 1]!, b.ack)
        }
        let records = 0
        let bytes = 0
        for (const round of roundsOf(chunks)) {
          yield* log.record(yield* roundSpan(round, sendRound(round)))
          const now = yield* Clock.currentTimeMillis
          for (const c of round) {
            records += c.write.records.length
            bytes += c.bytes
            // per chunk (a batch, or a part of an oversized one), never per record
            yield* Progress.acknowledged(flowKey, Progress.sampleOf(c.source, c.write.topic, c.bytes), now)
            const ack = ackAfter.get(c)
            if (ack !== undefined) yield* ack
          }
        }
        yield* Metric.incrementBy(flowRecords, records)
        yield* Metric.incrementBy(flowBytes, bytes)
      })

    return { write }
  })

  static readonly layer = Layer.scoped(TargetWriter, TargetWriter.make)
}
