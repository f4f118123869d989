/**
 * The `mm2.replicate` span: one per produce round (one request to the target, retries included),
 * a root span of its own trace (so no trace lives as long as the flow), kind producer, linked to
 * the producer spans named by the records' `traceparent` headers (at most MAX_LINKS, distinct).
 *
 * One span per round, not per partition batch: a round holds up to one batch per target
 * partition, and a span each would multiply the spans (and their export) by the partition count
 * on the hot path. Per-batch facts are index-aligned array attributes instead (element i of each
 * describes the round's i-th partition batch), built from batches, never from records.
 *
 * Built only when a tracer is installed (TracingActive.ts): otherwise the round runs bare, and
 * no header is looked at.
 */
import type { Span as OtelSpan } from "@opentelemetry/api"
import { type Cause, Effect, Option } from "effect"
import type { Chunk } from "../flow/ProduceRounds.js"
import type { AckedBatch } from "../flow/ReplicationLog.js"
import { topicPartitionKey } from "../kafka/KafkaRecord.js"
import { tracingActive } from "./TracingActive.js"
import { sourceLinks } from "./TracingTraceparent.js"

export const SPAN_NAME = "mm2.replicate"

/** Runs `send` (the round's request, with its retries) in the round's span. */
export type RoundSpan = <E, R>(
  round: ReadonlyArray<Chunk>,
  send: Effect.Effect<ReadonlyArray<AckedBatch>, E, R>
) => Effect.Effect<ReadonlyArray<AckedBatch>, E, R>

const untraced: RoundSpan = (_round, send) => send

const traced = (flow: string, currentOtelSpan: Effect.Effect<OtelSpan, Cause.NoSuchElementException>): RoundSpan => (round, send) => {
  const sourceTopics: Array<string> = []
  const targetTopics: Array<string> = []
  const partitions: Array<number> = []
  const firstOffsets: Array<number> = []
  const lastOffsets: Array<number> = []
  const batchRecords: Array<number> = []
  const batchBytes: Array<number> = []
  let records = 0
  let bytes = 0
  for (const c of round) {
    const rs = c.source.records
    sourceTopics.push(c.source.topic)
    targetTopics.push(c.write.topic)
    partitions.push(c.write.partition)
    firstOffsets.push(Number(rs[0]?.offset ?? -1))
    lastOffsets.push(Number(rs[rs.length - 1]?.offset ?? -1))
    batchRecords.push(rs.length)
    batchBytes.push(c.bytes)
    records += rs.length
    bytes += c.bytes
  }
  const { links, truncated } = sourceLinks(round.map((c) => c.source))
  return Effect.gen(function*() {
    // array attributes go to the OpenTelemetry span directly: Effect's bridge would stringify them
    const otel = Option.getOrUndefined(yield* Effect.option(currentOtelSpan))
    otel?.setAttributes({
      "mm2.source.topics": sourceTopics,
      "mm2.target.topics": targetTopics,
      "mm2.partitions": partitions,
      "mm2.source.offsets.first": firstOffsets,
      "mm2.source.offsets.last": lastOffsets,
      "mm2.batch.records": batchRecords,
      "mm2.batch.bytes": batchBytes
    })
    const acked = yield* send
    if (otel !== undefined) {
      const base = new Map<string, number>()
      for (const a of acked) base.set(topicPartitionKey(a.targetTopic, a.partition), Number(a.targetBaseOffset))
      otel.setAttribute("mm2.target.offsets.base", round.map((c) => base.get(topicPartitionKey(c.write.topic, c.write.partition)) ?? -1))
    }
    return acked
  }).pipe(Effect.withSpan(SPAN_NAME, {
    root: true,
    kind: "producer",
    links,
    attributes: {
      flow,
      "messaging.system": "kafka",
      "messaging.batch.message_count": records,
      "mm2.batches": round.length,
      "mm2.records": records,
      "mm2.bytes": bytes,
      "mm2.links": links.length,
      "mm2.links.truncated": truncated
    }
  }))
}

/**
 * The round span of `flow`, or none when no tracer is installed (decided once, here; the
 * OpenTelemetry bridge is loaded only then, see Telemetry.ts).
 */
export const make = (flow: string): Effect.Effect<RoundSpan> =>
  Effect.flatMap(tracingActive, (active) =>
    active
      ? Effect.map(Effect.promise(() => import("@effect/opentelemetry/Tracer")), (t) => traced(flow, t.currentOtelSpan))
      : Effect.succeed(untraced))
