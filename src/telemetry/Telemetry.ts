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
import { Config, Effect, Layer, Option } from "effect"

export const layer: Layer.Layer<never> = Layer.unwrapEffect(
  Effect.gen(function*() {
    const endpoint = yield* Config.option(Config.string("OTEL_EXPORTER_OTLP_ENDPOINT")).pipe(Effect.orDie)
    const serviceName = yield* Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("effect-mm2"), Effect.orDie)
    if (Option.isNone(endpoint)) return Layer.empty
    const base = endpoint.value.replace(/\/$/, "")
    yield* Effect.logInfo(`exporting traces and metrics to ${base}`)
    return NodeSdk.layer(() => ({
      resource: { serviceName },
      spanProcessor: new BatchSpanProcessor(new OTLPTraceExporter({ url: `${base}/v1/traces` })),
      metricReader: new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: `${base}/v1/metrics` }),
        exportIntervalMillis: 10_000
      })
    }))
  })
)
