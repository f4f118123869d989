/**
 * OpenTelemetry export, on only when the standard OTLP endpoint variable is set:
 * OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://127.0.0.1:4318) and optionally OTEL_SERVICE_NAME.
 * Spans: mm2.flow, mm2.refreshTopics, mm2.replicate (one per written round of batches).
 * Metrics: mm2_records_replicated, mm2_bytes_replicated (tagged by flow).
 */
import { NodeSdk } from "@effect/opentelemetry"
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Config, Data, Effect, Layer, Option } from "effect"

/** An OTEL_* variable we cannot use, named. */
export class TelemetryConfigError extends Data.TaggedError("TelemetryConfigError")<{
  readonly variable: string
  readonly detail: string
}> {
  override get message(): string {
    return `${this.variable}: ${this.detail}`
  }
}

export interface TelemetrySettings {
  /** base URL; `/v1/traces` and `/v1/metrics` are appended */
  readonly endpoint: string
  readonly serviceName: string
}

/** Reads and checks the OTEL_* variables; `None` when export is off. */
export const settings: Effect.Effect<Option.Option<TelemetrySettings>, TelemetryConfigError> = Effect.gen(function*() {
  const endpoint = yield* Config.option(Config.string("OTEL_EXPORTER_OTLP_ENDPOINT")).pipe(Effect.orDie)
  const serviceName = yield* Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("effect-mm2"), Effect.orDie)
  if (Option.isNone(endpoint) || endpoint.value.trim() === "") return Option.none()
  const base = endpoint.value.trim().replace(/\/$/, "")
  let url: URL | undefined
  try {
    url = new URL(base)
  } catch {
    url = undefined
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    return yield* new TelemetryConfigError({
      variable: "OTEL_EXPORTER_OTLP_ENDPOINT",
      detail: `expected an http:// or https:// URL such as http://127.0.0.1:4318, got ${JSON.stringify(endpoint.value)}`
    })
  }
  return Option.some({ endpoint: base, serviceName })
})

export const layer: Layer.Layer<never, TelemetryConfigError> = Layer.unwrapEffect(
  Effect.gen(function*() {
    const configured = yield* settings
    if (Option.isNone(configured)) return Layer.empty
    const { endpoint, serviceName } = configured.value
    yield* Effect.logInfo(`exporting traces and metrics to ${endpoint}`)
    return NodeSdk.layer(() => ({
      resource: { serviceName },
      spanProcessor: new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint}/v1/traces` })),
      metricReader: new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: `${endpoint}/v1/metrics` }),
        exportIntervalMillis: 10_000
      })
    }))
  })
)
