/**
 * Every metric effect-mm2 records, in one place (exported over OTLP when configured; see
 * Telemetry.ts). Each is tagged with its flow where it is recorded.
 */
import { Metric } from "effect"

export const recordsReplicated = Metric.counter("mm2_records_replicated", {
  description: "records acknowledged by the target",
  incremental: true
})
export const bytesReplicated = Metric.counter("mm2_bytes_replicated", {
  description: "key+value+header bytes acknowledged by the target",
  incremental: true
})
