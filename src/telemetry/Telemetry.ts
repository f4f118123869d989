/**
 * OpenTelemetry export, set up only when the standard OTLP variables ask for it (OtlpSettings.ts):
 * traces and metrics over OTLP/HTTP, protobuf (the default) or JSON. With no variable set, or
 * OTEL_SDK_DISABLED=true, nothing is set up: no tracer is installed, so spans on the data path
 * are skipped altogether (see TracingActive.ts). Failed exports are said once (ExportWatch.ts).
 *
 * What is traced: see TracingProduceRound.ts (`mm2.replicate`, one root span per produce round)
 * and the `mm2.*` spans of the periodic duties, each a root span of its own round.
 */
import type { PushMetricExporter } from "@opentelemetry/sdk-metrics"
import type { SpanExporter } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer, Option, RuntimeFlags } from "effect"
import * as ExportWatch from "./ExportWatch.js"
import { type SignalExport, settings, type TelemetryConfigError } from "./OtlpSettings.js"

export { settings, type TelemetrySettings, TelemetryConfigError } from "./OtlpSettings.js"

const exporterConfig = (s: SignalExport) => ({
  url: s.url,
  headers: { ...s.headers },
  ...Option.match(s.timeoutMillis, { onNone: () => ({}), onSome: (timeoutMillis) => ({ timeoutMillis }) })
})

// The OpenTelemetry SDK and exporters are loaded only when export is configured: loading them
// costs about 45 MiB of memory and 0.4 s of start-up, for nothing when no variable is set.

const spanExporter = (s: SignalExport): Effect.Effect<SpanExporter> =>
  Effect.promise(async () =>
    s.protocol === "http/json"
      ? new (await import("@opentelemetry/exporter-trace-otlp-http")).OTLPTraceExporter(exporterConfig(s))
      : new (await import("@opentelemetry/exporter-trace-otlp-proto")).OTLPTraceExporter(exporterConfig(s))
  )

const metricExporter = (s: SignalExport): Effect.Effect<PushMetricExporter> =>
  Effect.promise(async () =>
    s.protocol === "http/json"
      ? new (await import("@opentelemetry/exporter-metrics-otlp-http")).OTLPMetricExporter(exporterConfig(s))
      : new (await import("@opentelemetry/exporter-metrics-otlp-proto")).OTLPMetricExporter(exporterConfig(s))
  )

const sdk = Effect.promise(async () => {
  const [NodeSdk, sdkMetrics, sdkTrace] = await Promise.all([
    import("@effect/opentelemetry/NodeSdk"),
    import("@opentelemetry/sdk-metrics"),
    import("@opentelemetry/sdk-trace-base")
  ])
  return { NodeSdk, sdkMetrics, sdkTrace }
})

/**
 * Effect counts every fiber that ends in failure or interruption in `effect_fiber_failures`
 * (its runtime metrics, on by default). Here that is mostly expected: each send's timeout race
 * interrupts a fiber, each retried write fails one, and the metric reached OTLP through the
 * NodeSdk metric reader. The failures an operator cares about are counted where their meaning
 * is known (`task-restarts`, after the retries, in Metrics.ts). Turning the runtime metrics off
 * also spares a few metric updates per fiber.
 */
export const withoutFiberMetrics: Layer.Layer<never> = RuntimeFlags.disableRuntimeMetrics

/** OTLP export as the OTEL_* variables say (nothing when unset), without Effect's fiber metrics. */
export const layer: Layer.Layer<never, TelemetryConfigError> = Layer.unwrapEffect(
  Effect.gen(function*() {
    const configured = yield* settings
    if (Option.isNone(configured)) return Layer.empty
    const { metricExportIntervalMillis, metrics, resourceAttributes, serviceName, traces } = configured.value
    const watch = yield* ExportWatch.make
    for (const [signal, s] of [["traces", traces], ["metrics", metrics]] as const) {
      if (Option.isSome(s)) yield* Effect.logInfo(`exporting ${signal} to ${s.value.url} (OTLP ${s.value.protocol})`)
    }
    const { NodeSdk, sdkMetrics, sdkTrace } = yield* sdk
    const spanProcessor = Option.isSome(traces)
      ? new sdkTrace.BatchSpanProcessor(watch.spans(yield* spanExporter(traces.value), traces.value.url))
      : undefined
    const metricReader = Option.isSome(metrics)
      ? new sdkMetrics.PeriodicExportingMetricReader({
        exporter: watch.metrics(yield* metricExporter(metrics.value), metrics.value.url),
        exportIntervalMillis: metricExportIntervalMillis
      })
      : undefined
    return NodeSdk.layer(() => ({ resource: { serviceName, attributes: { ...resourceAttributes } }, spanProcessor, metricReader }))
  })
).pipe(Layer.merge(withoutFiberMetrics))
