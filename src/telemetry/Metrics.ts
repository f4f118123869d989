/**
 * Every metric effect-mm2 records, in one place (exported over OTLP when configured; see
 * Telemetry.ts). Each is tagged with its flow where it is recorded.
 */
import { Duration, Metric } from "effect"

export const recordsReplicated = Metric.counter("mm2_records_replicated", {
  description: "records acknowledged by the target",
  incremental: true
})
export const bytesReplicated = Metric.counter("mm2_bytes_replicated", {
  description: "key+value+header bytes acknowledged by the target",
  incremental: true
})

// Offset translation. MM2's names where MM2 has the metric (checkpoint-latency-ms, tagged source,
// target, group, topic, partition); named in its style where it has none.

export const checkpointLatency = Metric.gauge("checkpoint-latency-ms", {
  description: "from reading a group's committed offsets to its checkpoint acknowledged by the target (last value), " +
    "per group and partition"
})
/** min/max/avg over the last minute, per flow (one summary per partition would cost ~9 KiB each) */
export const checkpointLatencyStats = Metric.summary({
  name: "checkpoint-latency-ms-stats",
  description: "checkpoint-latency-ms of every checkpoint of the flow over the last minute (MM2's -min, -max, -avg)",
  maxAge: Duration.minutes(1),
  maxSize: 1_000,
  error: 0.01,
  quantiles: [0.5, 0.99]
})
export const checkpointsWritten = Metric.counter("checkpoint-count", {
  description: "checkpoints written to <source>.checkpoints.internal",
  incremental: true
})
export const offsetSyncsWritten = Metric.counter("offset-sync-count", {
  description: "offset syncs written to mm2-offset-syncs.<target>.internal",
  incremental: true
})
export const failoverReread = Metric.gauge("failover-reread-records", {
  description: "records a consumer group would read again if it failed over now, per group and partition (0 = exact)"
})
export const checkpointRoundRequests = Metric.gauge("checkpoint-round-admin-requests", {
  description: "admin requests the last checkpoint round sent to the source (listing groups and fetching their offsets)"
})
export const groupOffsetsSynced = Metric.counter("group-offset-sync-count", {
  description: "partitions of consumer groups whose translated offset was written into the target group",
  incremental: true
})

// Source partitions whose replication position left their log (see flow/SourceGaps.ts). Tagged
// flow, topic (source) and partition; use `forSourcePartition` so every reader tags alike.

export const lostRecords = Metric.counter("replication-lost-records", {
  description: "source records never replicated: removed from the source (retention, deleteRecords) before they were " +
    "replicated, skipped per auto.offset.reset=latest, or of a topic deleted and recreated",
  incremental: true
})
export const gapEvents = Metric.counter("replication-gap-events", {
  description: "times a source partition's replication position was found outside its log (records removed, log " +
    "truncated, topic recreated); also tagged cause",
  incremental: true
})
export const stoppedPartitions = Metric.gauge("replication-partition-stopped", {
  description: "1 while replication of a source partition is stopped per auto.offset.reset=none"
})

/** `metric` tagged with a flow's source partition. */
export const forSourcePartition = <Type, In, Out>(
  metric: Metric.Metric<Type, In, Out>,
  flow: string,
  topic: string,
  partition: number
): Metric.Metric<Type, In, Out> =>
  Metric.tagged(Metric.tagged(Metric.tagged(metric, "flow", flow), "topic", topic), "partition", String(partition))
