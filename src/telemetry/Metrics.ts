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

// Replication, per flow and partition, in MirrorSourceConnector's terms (spec 12.4): tagged flow,
// source, target, topic (the TARGET topic, as MM2 tags it) and partition. Recorded once per
// fetched or acknowledged batch, never per record (see Progress.ts for how a batch is sampled).

export const recordCount = Metric.counter("record-count", {
  description: "records acknowledged by the target, per target topic and partition (MM2's record-count)",
  incremental: true
})
export const byteCount = Metric.counter("byte-count", {
  description: "bytes (key + value + headers) acknowledged by the target, per target topic and partition " +
    "(MM2 counts value bytes only)",
  incremental: true
})
export const recordRate = Metric.gauge("record-rate", {
  description: "records acknowledged per second over the last ~60 s (two 30 s windows, as MM2's MetricConfig), " +
    "per target topic and partition; rate(record_count[1m]) is the same"
})
export const byteRate = Metric.gauge("byte-rate", {
  description: "bytes acknowledged per second over the last ~60 s, per target topic and partition; " +
    "rate(byte_count[1m]) is the same"
})
export const recordAge = Metric.gauge("record-age-ms", {
  description: "when a batch was fetched: now minus the timestamp of its newest (last) record, per target topic and partition"
})
export const recordAgeMin = Metric.gauge("record-age-ms-min", {
  description: "smallest record-age-ms over the last ~60 s (newest record of each batch)"
})
export const recordAgeMax = Metric.gauge("record-age-ms-max", {
  description: "largest record-age-ms over the last ~60 s (oldest, first record of each batch)"
})
export const recordAgeAvg = Metric.gauge("record-age-ms-avg", {
  description: "average record-age-ms over the last ~60 s, each batch weighted by its records at the mean of its first and last record's age"
})
export const replicationLatency = Metric.gauge("replication-latency-ms", {
  description: "when the target acknowledged a batch: now minus the timestamp of its newest (last) record, per target topic and partition"
})
export const replicationLatencyMin = Metric.gauge("replication-latency-ms-min", {
  description: "smallest replication-latency-ms over the last ~60 s (newest record of each batch)"
})
export const replicationLatencyMax = Metric.gauge("replication-latency-ms-max", {
  description: "largest replication-latency-ms over the last ~60 s (oldest, first record of each batch)"
})
export const replicationLatencyAvg = Metric.gauge("replication-latency-ms-avg", {
  description: "average replication-latency-ms over the last ~60 s, each batch weighted by its records at the mean of its first and last record's age"
})

// What MM2 lacks: how far behind each source partition is. Tagged flow, topic (SOURCE) and partition.

export const sourceEndOffset = Metric.gauge("source-end-offset", {
  description: "log-end offset (high watermark) of the source partition: from the newest fetch response, or the periodic ListOffsets"
})
export const replicatedPosition = Metric.gauge("replicated-position", {
  description: "next source offset to replicate: one past the newest record the target acknowledged"
})
export const recordsBehind = Metric.gauge("records-behind", {
  description: "source-end-offset minus replicated-position (records in the source not yet acknowledged by the target; " +
    "aborted transactions and compaction gaps count until passed)"
})
export const recordsBehindAge = Metric.gauge("records-behind-age-seconds", {
  description: "0 while records-behind is 0, else seconds since the partition was last caught up (records-behind 0), " +
    "or since replication of it started if it never was"
})

// Per flow: the reader's queue of fetched batches waiting for the writer (capacity 16).

export const queueDepth = Metric.gauge("queue-depth", {
  description: "fetched batches waiting for the writer or being written, per flow (backpressure stops fetching at 16)"
})

// Per task (tagged flow = herder, herder, task): see TaskMetrics.ts.

export const taskRestarts = Metric.counter("task-restarts", {
  description: "times a task restarted after a transient failure or a defect",
  incremental: true
})
export const taskState = Metric.gauge("task-state", {
  description: "1 for the task's current state (tag state = starting, running, catching-up, restarting, failed, stopped), 0 for the others"
})

// Per herder (tagged flow = herder): when the periodic duties last did their work.

export const LAST_CHECKPOINT = "checkpoint-last-round-timestamp-seconds"
export const lastCheckpoint = Metric.gauge(LAST_CHECKPOINT, {
  description: "epoch seconds of the end of the last checkpoint round that completed (written or nothing to write)"
})
export const LAST_HEARTBEAT = "heartbeat-last-timestamp-seconds"
export const lastHeartbeat = Metric.gauge(LAST_HEARTBEAT, {
  description: "epoch seconds of the last heartbeat the target acknowledged"
})
