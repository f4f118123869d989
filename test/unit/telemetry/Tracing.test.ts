import { NodeSdk } from "@effect/opentelemetry"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import type { Chunk } from "../../../src/flow/ProduceRounds.js"
import type { AckedBatch } from "../../../src/flow/ReplicationLog.js"
import type { KafkaRecord } from "../../../src/kafka/KafkaRecord.js"
import * as ExportWatch from "../../../src/telemetry/ExportWatch.js"
import * as Telemetry from "../../../src/telemetry/Telemetry.js"
import { withoutFiberMetrics } from "../../../src/telemetry/Telemetry.js"
import { tracingActive } from "../../../src/telemetry/TracingActive.js"
import * as TracingProduceRound from "../../../src/telemetry/TracingProduceRound.js"
import { MAX_LINKS, parseTraceparent, sourceLinks } from "../../../src/telemetry/TracingTraceparent.js"

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
const SPAN = "00f067aa0ba902b7"
const tp = (trace: string, span: string, flags = "01") => `00-${trace}-${span}-${flags}`

const rec = (offset: number, traceparent?: string): KafkaRecord => ({
  key: null,
  value: Buffer.from("v"),
  headers: traceparent === undefined ? [] : [{ key: "other", value: Buffer.from("x") }, { key: "traceparent", value: Buffer.from(traceparent) }],
  timestamp: "0",
  offset: String(offset)
})

const chunk = (topic: string, partition: number, records: ReadonlyArray<KafkaRecord>, bytes: number): Chunk => ({
  source: { topic, partition, records, highWatermark: "1000" },
  write: { topic: `a.${topic}`, partition, records },
  bytes
})

const acked = (round: ReadonlyArray<Chunk>, bases: ReadonlyArray<number>): Array<AckedBatch> =>
  round.map((c, i) => ({
    sourceTopic: c.source.topic,
    targetTopic: c.write.topic,
    partition: c.write.partition,
    records: c.source.records,
    targetBaseOffset: BigInt(bases[i]!)
  }))

const inMemory = () => {
  const exporter = new InMemorySpanExporter()
  const layer = NodeSdk.layer(() => ({ resource: { serviceName: "unit" }, spanProcessor: new SimpleSpanProcessor(exporter) }))
  return { exporter, layer }
}

describe("traceparent", () => {
  it("parses version 00 and ignores what is not a valid traceparent", () => {
    expect(parseTraceparent(tp(TRACE, SPAN))).toEqual({ traceId: TRACE, spanId: SPAN, sampled: true })
    expect(parseTraceparent(Buffer.from(tp(TRACE, SPAN, "00")))).toEqual({ traceId: TRACE, spanId: SPAN, sampled: false })
    // a later version may append fields
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-03-extra`)).toEqual({ traceId: TRACE, spanId: SPAN, sampled: true })
    for (
      const bad of [
        null,
        "",
        tp(TRACE, SPAN).slice(0, 54),
        `${tp(TRACE, SPAN)}-x`, // version 00 has no more fields
        `ff-${TRACE}-${SPAN}-01`,
        tp("0".repeat(32), SPAN),
        tp(TRACE, "0".repeat(16)),
        tp(TRACE.toUpperCase(), SPAN),
        tp(TRACE, SPAN).replace(/-/g, "_")
      ]
    ) expect(parseTraceparent(bad)).toBeUndefined()
  })

  it("links distinct producer spans, at most MAX_LINKS, each naming the first record carrying it", () => {
    const records = [rec(10), rec(11, tp(TRACE, SPAN)), rec(12, tp(TRACE, SPAN)), rec(13, "garbage")]
    const { links, truncated } = sourceLinks([{ topic: "t", partition: 2, records }])
    expect(truncated).toBe(false)
    expect(links.map((l) => [l.span.traceId, l.span.spanId, l.attributes])).toEqual([
      [TRACE, SPAN, { "mm2.source.topic": "t", "mm2.source.partition": 2, "mm2.source.offset": 11 }]
    ])
    const many = Array.from({ length: MAX_LINKS + 5 }, (_, i) => rec(i, tp(TRACE, (i + 1).toString(16).padStart(16, "0"))))
    const bounded = sourceLinks([{ topic: "t", partition: 0, records: many }])
    expect(bounded.links.length).toBe(MAX_LINKS)
    expect(bounded.truncated).toBe(true)
  })
})

describe("mm2.replicate round span", () => {
  const round = [
    chunk("orders", 0, [rec(5, tp(TRACE, SPAN)), rec(6), rec(7)], 300),
    chunk("payments", 3, [rec(40, tp(TRACE, "1111111111111111"))], 100)
  ]

  it.effect("no tracer installed: nothing is built, the send runs as it is", () =>
    Effect.gen(function*() {
      expect(yield* tracingActive).toBe(false)
      const span = yield* TracingProduceRound.make("a->b")
      const out = yield* span(round, Effect.succeed(acked(round, [100, 7])))
      expect(out.length).toBe(2)
      // the data path checks once; a disabled tracer counts as none too
      expect(yield* Effect.withTracerEnabled(tracingActive, false)).toBe(false)
    }))

  it.effect("a root producer span per round with per-batch arrays, totals, base offsets and links", () => {
    const { exporter, layer } = inMemory()
    return Effect.gen(function*() {
      expect(yield* tracingActive).toBe(true)
      const span = yield* TracingProduceRound.make("a->b")
      // even inside another span the round starts a trace of its own
      yield* span(round, Effect.succeed(acked(round, [100, 7]))).pipe(Effect.withSpan("outer"))
      const s = exporter.getFinishedSpans().find((x) => x.name === "mm2.replicate")!
      expect(s.parentSpanContext).toBeUndefined()
      expect(s.kind).toBe(3) // PRODUCER
      expect(s.attributes).toMatchObject({
        flow: "a->b",
        "messaging.system": "kafka",
        "messaging.batch.message_count": 4,
        "mm2.batches": 2,
        "mm2.records": 4,
        "mm2.bytes": 400,
        "mm2.links": 2,
        "mm2.links.truncated": false,
        "mm2.source.topics": ["orders", "payments"],
        "mm2.target.topics": ["a.orders", "a.payments"],
        "mm2.partitions": [0, 3],
        "mm2.source.offsets.first": [5, 40],
        "mm2.source.offsets.last": [7, 40],
        "mm2.batch.records": [3, 1],
        "mm2.batch.bytes": [300, 100],
        "mm2.target.offsets.base": [100, 7]
      })
      expect(s.links.map((l) => [l.context.traceId, l.context.spanId, l.attributes?.["mm2.source.offset"]])).toEqual([
        [TRACE, SPAN, 5],
        [TRACE, "1111111111111111", 40]
      ])
    }).pipe(Effect.provide(layer))
  })

  it.effect("a failed round records the error on its span (Effect's OpenTelemetry bridge does it)", () => {
    const { exporter, layer } = inMemory()
    return Effect.gen(function*() {
      const span = yield* TracingProduceRound.make("a->b")
      const exit = yield* Effect.exit(span(round, Effect.fail(new Error("broker refused"))))
      expect(exit._tag).toBe("Failure")
      const s = exporter.getFinishedSpans().find((x) => x.name === "mm2.replicate")!
      expect(s.status).toMatchObject({ code: 2, message: "broker refused" }) // ERROR
      expect(s.events.map((e) => e.name)).toContain("exception")
      // what it tried to write is on the span still
      expect(s.attributes["mm2.partitions"]).toEqual([0, 3])
    }).pipe(Effect.provide(layer))
  })
})

describe("export failures", () => {
  it.effect("one warning per collector until an export works again, then one info line", () =>
    Effect.gen(function*() {
      const watch = yield* ExportWatch.make
      const failed = { code: 1, error: new Error("connect ECONNREFUSED 127.0.0.1:4318") }
      const ok = { code: 0 }
      const traces = "http://127.0.0.1:4318/v1/traces"
      const metrics = "http://127.0.0.1:4318/v1/metrics"
      expect(watch.observe("traces", traces, failed)).toBe("failed")
      expect(watch.observe("traces", traces, failed)).toBeUndefined()
      // the same collector: already said
      expect(watch.observe("metrics", metrics, failed)).toBeUndefined()
      // another collector is another story
      expect(watch.observe("metrics", "http://other:4318/v1/metrics", failed)).toBe("failed")
      expect(watch.observe("traces", traces, ok)).toBe("recovered")
      expect(watch.observe("metrics", metrics, ok)).toBeUndefined()
      expect(watch.observe("traces", traces, failed)).toBe("failed")
    }))
})

describe("fiber metrics", () => {
  const fiberFailures = Metric.counter("effect_fiber_failures", { incremental: true })
  // a successful send under a timeout: its timer fiber is interrupted, which counted as a failure
  const timedSends = Effect.forEach(
    Array.from({ length: 5 }),
    () => Effect.succeed(1).pipe(Effect.delay("1 millis"), Effect.timeout("1 second")),
    { discard: true }
  )
  const failuresDuring = <A, E>(self: Effect.Effect<A, E>) =>
    Effect.gen(function*() {
      const before = (yield* Metric.value(fiberFailures)).count
      yield* self
      return (yield* Metric.value(fiberFailures)).count - before
    })

  it.live("Effect counts expected interruptions as fiber failures; the telemetry layer turns that off", () =>
    Effect.gen(function*() {
      expect(yield* failuresDuring(timedSends)).toBeGreaterThan(0)
      expect(yield* failuresDuring(timedSends).pipe(Effect.provide(withoutFiberMetrics))).toBe(0)
      // the telemetry layer the CLI provides does it too, with and without OTLP export
      expect(yield* failuresDuring(timedSends).pipe(Effect.provide(Telemetry.layer))).toBe(0)
    }))
})
