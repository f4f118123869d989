/**
 * Tracing on a real replication: the replicator runs in process with an in-memory OpenTelemetry
 * exporter (NodeSdk + SimpleSpanProcessor), and its spans are checked by name, attributes and
 * links (records carrying a W3C traceparent header), and for ending: every span is a root span
 * of one round, and no span stays open for the life of the flow.
 */
import { NodeSdk } from "@effect/opentelemetry"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, type SpanProcessor } from "@opentelemetry/sdk-trace-base"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { inject } from "vitest"
import { createTopic, eventually, flowProps, produceToPartitions, startReplicator, uniqueId, waitForCount } from "./support/kafka.js"
import { rec } from "./support/records.js"

const PARTITIONS = 3
const RECORDS = 90
/** two producer spans, as an instrumented producer would have written them */
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
const PRODUCER_SPANS = ["00f067aa0ba902b7", "b7ad6b7169203331"]

/** Spans started and not yet ended, by span id, with their name. */
class OpenSpans implements SpanProcessor {
  readonly open = new Map<string, string>()
  onStart(span: ReadableSpan): void {
    this.open.set(span.spanContext().spanId, span.name)
  }
  onEnd(span: ReadableSpan): void {
    this.open.delete(span.spanContext().spanId)
  }
  forceFlush(): Promise<void> {
    return Promise.resolve()
  }
  shutdown(): Promise<void> {
    return Promise.resolve()
  }
}

const numbers = (s: ReadableSpan, key: string): ReadonlyArray<number> => s.attributes[key] as ReadonlyArray<number>
const strings = (s: ReadableSpan, key: string): ReadonlyArray<string> => s.attributes[key] as ReadonlyArray<string>

describe("tracing", () => {
  it.scopedLive("a root span per produce round with topics, partitions, offsets, counts and links; every duty's rounds traced; traces end", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [source, target] = [`p${id}`, `b${id}`]
      const flow = `${source}->${target}`
      const topic = `trc${id}`
      const remote = `${source}.${topic}`
      yield* createTopic(primary, topic, PARTITIONS)
      // every third record comes from a traced producer (two distinct spans), one header is garbage
      const records = Array.from({ length: RECORDS }, (_, i) => {
        const headers: Array<readonly [string, string]> = i % 3 === 0
          ? [["traceparent", `00-${TRACE}-${PRODUCER_SPANS[(i / 3) % 2]!}-01`]]
          : i === 1
          ? [["traceparent", "not-a-traceparent"]]
          : []
        return [i % PARTITIONS, rec({ key: `k${i}`, value: `v${i}`, headers })] as const
      })
      yield* produceToPartitions(primary, topic, records)

      const exporter = new InMemorySpanExporter()
      const openSpans = new OpenSpans()
      const tracing = NodeSdk.layer(() => ({
        resource: { serviceName: "effect-mm2-it" },
        spanProcessor: [new SimpleSpanProcessor(exporter), openSpans]
      }))
      const replicator = yield* startReplicator(
        flowProps({
          source,
          target,
          sourceBootstrap: primary,
          targetBootstrap: backup,
          topics: `${topic}.*`,
          extra: {
            "groups": `${topic}.*`,
            "emit.checkpoints.interval.seconds": "1",
            "sync.group.offsets.enabled": "true",
            "sync.group.offsets.interval.seconds": "1"
          }
        }),
        tracing
      )
      yield* waitForCount(backup, remote, RECORDS)
      const spans = () => exporter.getFinishedSpans()
      const replicated = (ss: ReadonlyArray<ReadableSpan>) =>
        ss.filter((s) => s.name === "mm2.replicate").reduce((n, s) => n + (s.attributes["mm2.records"] as number), 0)
      // the span ends just after the acknowledgement that made the records visible
      yield* eventually("mm2.replicate spans for every record", Effect.sync(spans), (ss) => replicated(ss) >= RECORDS)
      // whatever was open once replication was done must end too: nothing lives as long as the flow
      const openAfterReplication = new Map(openSpans.open)
      const names = [
        "mm2.replicate",
        "mm2.refreshTopics",
        "mm2.syncTopicConfigs",
        "mm2.syncTopicAcls",
        "mm2.writeOffsetSyncs",
        "mm2.emitCheckpoints",
        "mm2.syncGroupOffsets",
        "mm2.emitHeartbeat"
      ]
      yield* eventually(
        () => `spans named ${names.join(", ")} (seen: ${[...new Set(spans().map((s) => s.name))].join(", ")})`,
        Effect.sync(spans),
        (ss) => names.every((n) => ss.some((s) => s.name === n)),
        { timeout: "60 seconds" }
      )
      yield* eventually(
        () => `spans open after replication to end: ${[...openAfterReplication.values()].join(", ")}`,
        Effect.sync(() => [...openAfterReplication.keys()].filter((k) => openSpans.open.has(k))),
        (stillOpen) => stillOpen.length === 0,
        { timeout: "30 seconds" }
      )
      yield* replicator.expectRunning

      const all = spans()
      for (const s of all.filter((x) => names.includes(x.name))) {
        // a root span per round: its trace ends with it
        expect(s.parentSpanContext, `${s.name} has no parent`).toBeUndefined()
        // heartbeats also run in the heartbeat-only herder target->source
        expect([flow, `${target}->${source}`], `${s.name} names its flow`).toContain(s.attributes["flow"])
      }
      const rounds = all.filter((s) => s.name === "mm2.replicate")
      expect(new Set(rounds.map((s) => s.spanContext().traceId)).size).toBe(rounds.length)

      // per partition batch: arrays, index-aligned; together they cover exactly what was written
      const seen = new Map<number, Array<[number, number, number]>>()
      for (const s of rounds) {
        expect(s.kind).toBe(3) // PRODUCER
        expect(s.status.code).not.toBe(2) // not ERROR
        const n = s.attributes["mm2.batches"] as number
        expect(strings(s, "mm2.source.topics")).toEqual(Array(n).fill(topic))
        expect(strings(s, "mm2.target.topics")).toEqual(Array(n).fill(remote))
        const first = numbers(s, "mm2.source.offsets.first")
        const last = numbers(s, "mm2.source.offsets.last")
        const counts = numbers(s, "mm2.batch.records")
        const bases = numbers(s, "mm2.target.offsets.base")
        const bytes = numbers(s, "mm2.batch.bytes")
        numbers(s, "mm2.partitions").forEach((p, i) => {
          expect(last[i]! - first[i]! + 1, "a batch of a fresh topic is contiguous").toBe(counts[i])
          expect(bases[i]).toBeGreaterThanOrEqual(0)
          expect(bytes[i]).toBeGreaterThan(0)
          seen.set(p, [...(seen.get(p) ?? []), [first[i]!, last[i]!, bases[i]!]])
        })
        expect(s.attributes["mm2.records"]).toBe(counts.reduce((a, b) => a + b, 0))
        expect(s.attributes["mm2.bytes"]).toBe(bytes.reduce((a, b) => a + b, 0))
        expect(s.attributes["messaging.system"]).toBe("kafka")
      }
      for (let p = 0; p < PARTITIONS; p++) {
        const batches = (seen.get(p) ?? []).sort((a, b) => a[0] - b[0])
        // source offsets 0..29 of each partition, written to the fresh remote partition from 0 on
        expect(batches[0]?.[0]).toBe(0)
        expect(batches[batches.length - 1]?.[1]).toBe(RECORDS / PARTITIONS - 1)
        for (const [f, , base] of batches) expect(base).toBe(f)
      }

      // links: exactly the two producer spans (distinct, the garbage header ignored), remote contexts
      const links = rounds.flatMap((s) => s.links)
      expect(new Set(links.map((l) => l.context.spanId))).toEqual(new Set(PRODUCER_SPANS))
      for (const l of links) {
        expect(l.context.traceId).toBe(TRACE)
        expect(l.context.isRemote).toBe(true)
        expect(l.attributes?.["mm2.source.topic"]).toBe(topic)
      }
      for (const s of rounds) {
        expect(new Set(s.links.map((l) => l.context.spanId)).size, "distinct links per span").toBe(s.links.length)
        expect(s.attributes["mm2.links"]).toBe(s.links.length)
      }
      const syncs = all.filter((s) => s.name === "mm2.writeOffsetSyncs")
      expect(syncs.every((s) => (s.attributes["mm2.offset_syncs"] as number) > 0)).toBe(true)
    }))
})
