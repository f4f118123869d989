/**
 * How far each replicated source partition has come, per flow: the source end offset, the
 * replicated position, records behind and since when, and MM2's windowed record-age and
 * replication-latency stats. Flows write it once per batch (never per record), as plain fields
 * (a few microseconds per batch: no metric registry lookup); `refresh` puts it into the metrics
 * before every scrape and status, and every periodic end-offset read flushes its flow (for OTLP).
 *
 * One table per process (like Effect's metric registry, which these values also go to): flows
 * record into it without a new service requirement on the replicator's Layer. Two replicators
 * in one process with the same flow names share rows.
 */
import { Effect, GlobalValue, Metric } from "effect"
import { topicPartitionKey } from "../kafka/KafkaRecord.js"
import * as Metrics from "./Metrics.js"

/** MM2's MetricConfig: 2 samples of 30 s, so min/max/avg/rate cover roughly the last minute. */
const WINDOW_MS = 30_000

/** Min, max, weighted sum and count of one 30 s sample. */
interface Sample {
  readonly start: number
  min: number
  max: number
  sum: number
  count: number
}

/** Two 30 s samples: the current one and the one before. */
class Window {
  private current: Sample | undefined
  private previous: Sample | undefined

  private roll(now: number): void {
    const start = now - (now % WINDOW_MS)
    if (this.current !== undefined && this.current.start === start) return
    this.previous = this.current !== undefined && this.current.start === start - WINDOW_MS ? this.current : undefined
    this.current = { start, min: Infinity, max: -Infinity, sum: 0, count: 0 }
  }

  /** `count` values between `min` and `max`, their sum `sum` */
  add(now: number, min: number, max: number, sum: number, count: number): void {
    this.roll(now)
    const c = this.current!
    c.min = Math.min(c.min, min)
    c.max = Math.max(c.max, max)
    c.sum += sum
    c.count += count
  }

  stats(now: number): { min: number; max: number; avg: number; count: number; sum: number; rate: number } {
    this.roll(now)
    const samples = [this.previous, this.current].filter((s): s is Sample => s !== undefined)
    const count = samples.reduce((n, s) => n + s.count, 0)
    const sum = samples.reduce((n, s) => n + s.sum, 0)
    const oldest = samples[0]?.start ?? now
    // as Kafka's Rate: over the elapsed window, but never less than one full sample
    const seconds = Math.max(now - oldest, WINDOW_MS) / 1_000
    return count === 0
      ? { min: 0, max: 0, avg: 0, count: 0, sum: 0, rate: 0 }
      : {
        min: Math.min(...samples.map((s) => s.min)),
        max: Math.max(...samples.map((s) => s.max)),
        avg: sum / count,
        count,
        sum,
        rate: sum / seconds
      }
  }
}

type Gauge = Metric.Metric.Gauge<number>

/** The state of one source partition. */
export type PartitionState = "catching-up" | "caught-up" | "stopped" | "unknown"

/** One source partition of a flow, as the status shows it. */
export interface PartitionProgress {
  readonly topic: string
  readonly remoteTopic: string
  readonly partition: number
  readonly state: PartitionState
  /** log-end offset of the source partition, as last seen (decimal), if known yet */
  readonly endOffset: string | null
  /** next source offset to replicate (decimal), if known yet */
  readonly replicatedPosition: string | null
  readonly recordsBehind: number | null
  /** seconds since last caught up, 0 when caught up */
  readonly recordsBehindAgeSeconds: number
  /** epoch ms of the last batch the target acknowledged */
  readonly lastReplicatedAt: number | null
  /** epoch ms of the last checkpoint written for this remote partition (any group) */
  readonly lastCheckpointAt: number | null
}

class Row {
  end: bigint | undefined
  position: bigint | undefined
  /** last time the partition was seen caught up; starts at tracking */
  caughtUpAt: number
  stopped = false
  lastReplicatedAt: number | undefined
  lastCheckpointAt: number | undefined
  /** ages (ms) of the newest record of the last fetched and the last acknowledged batch */
  lastAge: number | undefined
  lastLatency: number | undefined
  /** acknowledged since the last flush */
  uncountedRecords = 0
  uncountedBytes = 0
  readonly age = new Window()
  readonly latency = new Window()
  readonly records = new Window()
  readonly bytes = new Window()
  /** counters and gauges that only move on rare events were put at 0 (so they exist for alerts and dashboards) */
  initialized = false
  // tagged once per partition
  readonly src: {
    lost: Metric.Metric.Counter<number>
    stopped: Gauge
    end: Gauge
    position: Gauge
    behind: Gauge
    behindAge: Gauge
  }
  readonly dst: {
    recordCount: Metric.Metric.Counter<number>
    byteCount: Metric.Metric.Counter<number>
    recordRate: Gauge
    byteRate: Gauge
    age: Gauge
    ageMin: Gauge
    ageMax: Gauge
    ageAvg: Gauge
    latency: Gauge
    latencyMin: Gauge
    latencyMax: Gauge
    latencyAvg: Gauge
  }

  constructor(
    readonly flow: FlowKey,
    readonly topic: string,
    readonly remoteTopic: string,
    readonly partition: number,
    now: number
  ) {
    this.caughtUpAt = now
    const bySource = <T, I, O>(m: Metric.Metric<T, I, O>) =>
      m.pipe(Metric.tagged("flow", flow.name), Metric.tagged("topic", topic), Metric.tagged("partition", String(partition)))
    const byTarget = <T, I, O>(m: Metric.Metric<T, I, O>) =>
      m.pipe(
        Metric.tagged("flow", flow.name),
        Metric.tagged("source", flow.source),
        Metric.tagged("target", flow.target),
        Metric.tagged("topic", remoteTopic),
        Metric.tagged("partition", String(partition))
      )
    this.src = {
      lost: bySource(Metrics.lostRecords),
      stopped: bySource(Metrics.stoppedPartitions),
      end: bySource(Metrics.sourceEndOffset),
      position: bySource(Metrics.replicatedPosition),
      behind: bySource(Metrics.recordsBehind),
      behindAge: bySource(Metrics.recordsBehindAge)
    }
    this.dst = {
      recordCount: byTarget(Metrics.recordCount),
      byteCount: byTarget(Metrics.byteCount),
      recordRate: byTarget(Metrics.recordRate),
      byteRate: byTarget(Metrics.byteRate),
      age: byTarget(Metrics.recordAge),
      ageMin: byTarget(Metrics.recordAgeMin),
      ageMax: byTarget(Metrics.recordAgeMax),
      ageAvg: byTarget(Metrics.recordAgeAvg),
      latency: byTarget(Metrics.replicationLatency),
      latencyMin: byTarget(Metrics.replicationLatencyMin),
      latencyMax: byTarget(Metrics.replicationLatencyMax),
      latencyAvg: byTarget(Metrics.replicationLatencyAvg)
    }
  }

  get behind(): bigint | undefined {
    if (this.end === undefined || this.position === undefined) return undefined
    const d = this.end - this.position
    return d > 0n ? d : 0n
  }

  /** seconds since last caught up; 0 when caught up (or not known to be behind) */
  behindAge(now: number): number {
    const b = this.behind
    return b === undefined || b === 0n ? 0 : Math.max(0, (now - this.caughtUpAt) / 1_000)
  }

  /** the caught-up clock: called whenever end or position moved */
  settle(now: number): void {
    if (this.behind === 0n) {
      this.caughtUpAt = now
    }
  }
}

interface FlowKey {
  readonly name: string
  readonly source: string
  readonly target: string
}

class FlowRows {
  readonly rows = new Map<string, Row>()
  /** end offsets of every partition of the flow's topics were read at least once */
  seeded = false
  /** seeded, and once every partition was caught up at the same time (sticky) */
  caughtUpOnce = false
  queueDepth = 0

  constructor(readonly key: FlowKey) {}

  row(topic: string, remoteTopic: string, partition: number, now: number): Row {
    const k = topicPartitionKey(topic, partition)
    let r = this.rows.get(k)
    if (r === undefined) this.rows.set(k, r = new Row(this.key, topic, remoteTopic, partition, now))
    return r
  }

  check(): void {
    if (this.caughtUpOnce || !this.seeded) return
    for (const r of this.rows.values()) if (!r.stopped && r.behind !== 0n) return
    this.caughtUpOnce = true
  }
}

const flows = GlobalValue.globalValue(Symbol.for("effect-mm2/telemetry/Progress"), () => new Map<string, FlowRows>())

const flowOf = (key: FlowKey): FlowRows => {
  let f = flows.get(key.name)
  if (f === undefined) flows.set(key.name, f = new FlowRows(key))
  return f
}

/** Offsets and timestamps of a batch, read once (first and last record only). */
export interface BatchSample {
  readonly topic: string
  readonly remoteTopic: string
  readonly partition: number
  readonly records: number
  readonly bytes: number
  /** epoch ms of the first and last record (the source's timestamps) */
  readonly firstTimestamp: number
  readonly lastTimestamp: number
  /** offset of the last record */
  readonly lastOffset: bigint
}

/** Ages of a batch's records at `now`: the last record's (newest), the first's (oldest), their weighted sum. */
const agesOf = (b: BatchSample, now: number) => {
  const newest = Math.max(0, now - b.lastTimestamp)
  const oldest = Math.max(0, now - b.firstTimestamp)
  return { newest, oldest, sum: ((newest + oldest) / 2) * b.records }
}

/** A usable timestamp (-1 means none: the record's producer gave none). */
const validBatch = (b: BatchSample): boolean => b.records > 0 && b.firstTimestamp >= 0 && b.lastTimestamp >= 0

const setAll = (pairs: ReadonlyArray<readonly [Gauge, number]>) =>
  Effect.forEach(pairs, ([g, v]) => Metric.set(g, v), { discard: true })

/**
 * Puts a partition's numbers into its metrics. Batches only update the row (plain fields, no
 * metric registry lookups on the hot path); this runs before every scrape and status, and with
 * every periodic end-offset read (for the OTLP export). The first time, the partition's event
 * counters are put at 0 so that rate() and alerts see them from the start.
 */
const flushRow = (r: Row, now: number) =>
  Effect.suspend(() => {
    const behind = r.behind
    const age = r.age.stats(now)
    const latency = r.latency.stats(now)
    const records = r.records.stats(now)
    const bytes = r.bytes.stats(now)
    const [newRecords, newBytes] = [r.uncountedRecords, r.uncountedBytes]
    r.uncountedRecords = 0
    r.uncountedBytes = 0
    const first = !r.initialized
    r.initialized = true
    // no sample in the window: no value (as MM2's Avg/Max), rather than a made-up 0 ms
    const stat = (n: number, count: number) => (count === 0 ? NaN : n)
    return Effect.all([
      first ? Metric.incrementBy(r.src.lost, 0) : Effect.void,
      first || newRecords > 0 ? Metric.incrementBy(r.dst.recordCount, newRecords) : Effect.void,
      first || newBytes > 0 ? Metric.incrementBy(r.dst.byteCount, newBytes) : Effect.void,
      setAll([
        [r.src.stopped, r.stopped ? 1 : 0],
        ...(r.end !== undefined ? [[r.src.end, Number(r.end)] as const] : []),
        ...(r.position !== undefined ? [[r.src.position, Number(r.position)] as const] : []),
        ...(behind !== undefined ? [[r.src.behind, Number(behind)] as const] : []),
        [r.src.behindAge, r.behindAge(now)],
        ...(r.lastAge !== undefined
          ? [
            [r.dst.age, r.lastAge] as const,
            [r.dst.ageMin, stat(age.min, age.count)] as const,
            [r.dst.ageMax, stat(age.max, age.count)] as const,
            [r.dst.ageAvg, stat(age.avg, age.count)] as const
          ]
          : []),
        ...(r.lastLatency !== undefined
          ? [
            [r.dst.latency, r.lastLatency] as const,
            [r.dst.latencyMin, stat(latency.min, latency.count)] as const,
            [r.dst.latencyMax, stat(latency.max, latency.count)] as const,
            [r.dst.latencyAvg, stat(latency.avg, latency.count)] as const
          ]
          : []),
        ...(r.lastReplicatedAt !== undefined
          ? [[r.dst.recordRate, records.rate] as const, [r.dst.byteRate, bytes.rate] as const]
          : [])
      ])
    ], { discard: true })
  })

/** A batch as fetched (MM2 records record-age in poll): the end offset it carried and its records' age. */
export const fetched = (flow: FlowKey, b: BatchSample, endOffset: bigint, now: number) =>
  Effect.sync(() => {
    const f = flowOf(flow)
    const r = f.row(b.topic, b.remoteTopic, b.partition, now)
    // the newest answer is the truth (a log truncated or a topic recreated goes back)
    if (endOffset >= 0n) r.end = endOffset
    r.settle(now)
    if (!validBatch(b)) return
    const a = agesOf(b, now)
    r.age.add(now, a.newest, a.oldest, a.sum, b.records)
    r.lastAge = a.newest
  })

/** A batch the target acknowledged (MM2 records record-count and replication-latency in commitRecord). */
export const acknowledged = (flow: FlowKey, b: BatchSample, now: number) =>
  Effect.sync(() => {
    const f = flowOf(flow)
    const r = f.row(b.topic, b.remoteTopic, b.partition, now)
    const next = b.lastOffset + 1n
    if (r.position === undefined || next > r.position) r.position = next
    if (r.end === undefined || next > r.end) r.end = next
    r.lastReplicatedAt = now
    r.settle(now)
    f.check()
    r.uncountedRecords += b.records
    r.uncountedBytes += b.bytes
    r.records.add(now, b.records, b.records, b.records, 1)
    r.bytes.add(now, b.bytes, b.bytes, b.bytes, 1)
    if (!validBatch(b)) return
    const a = agesOf(b, now)
    r.latency.add(now, a.newest, a.oldest, a.sum, b.records)
    r.lastLatency = a.newest
  })

/** The flow's fetched batches waiting for or being written (a plain number until flushed). */
export const queueDepth = (flow: FlowKey, depth: number) =>
  Effect.sync(() => {
    flowOf(flow).queueDepth = depth
  })

/**
 * The periodic read of the flow's source partitions (see EndOffsets.ts): every partition's end
 * offset, and for one not replicated yet in this process its committed position (or where
 * auto.offset.reset starts it). Marks the flow seeded.
 */
export const observedEnds = (
  flow: FlowKey,
  partitions: ReadonlyArray<{
    readonly topic: string
    readonly remoteTopic: string
    readonly partition: number
    readonly end: bigint
    readonly start: bigint
  }>,
  now: number
) =>
  Effect.suspend(() => {
    const f = flowOf(flow)
    for (const p of partitions) {
      const r = f.row(p.topic, p.remoteTopic, p.partition, now)
      r.end = p.end
      if (r.position === undefined) r.position = p.start
      r.settle(now)
    }
    f.seeded = true
    f.check()
    return flushFlow(f, now)
  })

/** A partition stopped per auto.offset.reset = none (or running again). */
export const partitionStopped = (flow: FlowKey, topic: string, remoteTopic: string, partition: number, stopped: boolean, now: number) =>
  Effect.sync(() => {
    const f = flowOf(flow)
    f.row(topic, remoteTopic, partition, now).stopped = stopped
    f.check()
  })

/** A checkpoint written for a remote partition (any group). */
export const checkpointed = (flow: string, remoteTopic: string, partition: number, at: number) =>
  Effect.sync(() => {
    const f = flows.get(flow)
    if (f === undefined) return
    for (const r of f.rows.values()) if (r.remoteTopic === remoteTopic && r.partition === partition) r.lastCheckpointAt = at
  })

const flushFlow = (f: FlowRows, now: number) =>
  Effect.zipRight(
    Metric.set(Metric.tagged(Metrics.queueDepth, "flow", f.key.name), f.queueDepth),
    Effect.forEach([...f.rows.values()], (r) => flushRow(r, now), { discard: true })
  )

/** Brings every metric of every flow up to date (counters, and what changes with time alone: ages, rates), e.g. before a scrape. */
export const refresh = (now: number) => Effect.forEach([...flows.values()], (f) => flushFlow(f, now), { discard: true })

/** Whether the flow has been caught up once (every partition at its end at the same time, after its ends were read). */
export const caughtUpOnce = (flow: string): boolean => flows.get(flow)?.caughtUpOnce ?? false

/** Every partition of a flow, sorted by topic and partition. */
export const partitionsOf = (flow: string, now: number): ReadonlyArray<PartitionProgress> => {
  const f = flows.get(flow)
  if (f === undefined) return []
  return [...f.rows.values()]
    .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
    .map((r) => {
      const behind = r.behind
      return {
        topic: r.topic,
        remoteTopic: r.remoteTopic,
        partition: r.partition,
        state: r.stopped ? "stopped" : behind === undefined ? "unknown" : behind === 0n ? "caught-up" : "catching-up",
        endOffset: r.end?.toString() ?? null,
        replicatedPosition: r.position?.toString() ?? null,
        recordsBehind: behind === undefined ? null : Number(behind),
        recordsBehindAgeSeconds: Math.round(r.behindAge(now) * 10) / 10,
        lastReplicatedAt: r.lastReplicatedAt ?? null,
        lastCheckpointAt: r.lastCheckpointAt ?? null
      }
    })
}

/** The sample of a fetched batch (or a chunk of one): its first and last record, read once. */
export const sampleOf = (
  batch: { readonly topic: string; readonly partition: number; readonly records: ReadonlyArray<{ readonly timestamp: string; readonly offset: string }> },
  remoteTopic: string,
  bytes: number
): BatchSample => {
  const first = batch.records[0]
  const last = batch.records[batch.records.length - 1]
  return {
    topic: batch.topic,
    remoteTopic,
    partition: batch.partition,
    records: batch.records.length,
    bytes,
    firstTimestamp: first === undefined ? -1 : Number(first.timestamp),
    lastTimestamp: last === undefined ? -1 : Number(last.timestamp),
    lastOffset: last === undefined ? -1n : BigInt(last.offset)
  }
}
