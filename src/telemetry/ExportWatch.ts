/**
 * Watches OTLP export results. OpenTelemetry's exporters fail silently (their diagnostics go to
 * a no-op logger), so an unreachable collector would go unnoticed; we wrap each exporter and say
 * it once, at WARN, per collector (traces and metrics to one collector share the state), then
 * stay quiet until an export to it works again, which is said once at INFO.
 */
import type { PushMetricExporter } from "@opentelemetry/sdk-metrics"
import type { SpanExporter } from "@opentelemetry/sdk-trace-base"
import { Effect, Runtime } from "effect"

type ExportResult = Parameters<Parameters<SpanExporter["export"]>[1]>[0]

/** ExportResultCode.SUCCESS of @opentelemetry/core */
const SUCCESS = 0

export interface ExportWatch {
  readonly spans: (exporter: SpanExporter, url: string) => SpanExporter
  readonly metrics: (exporter: PushMetricExporter, url: string) => PushMetricExporter
  /** what the watch concluded per export, for tests: "failed" on the first failure of a run, "recovered" at its end */
  readonly observe: (signal: string, url: string, result: ExportResult) => "failed" | "recovered" | undefined
}

/** The collector a URL names: failures of one endpoint say nothing about another. */
const collectorOf = (url: string): string => {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}

/** An ExportWatch that logs through the runtime it is made in. */
export const make: Effect.Effect<ExportWatch> = Effect.map(Effect.runtime<never>(), (runtime) => {
  const failing = new Set<string>()
  const log = Runtime.runFork(runtime)

  const observe = (signal: string, url: string, result: ExportResult): "failed" | "recovered" | undefined => {
    const collector = collectorOf(url)
    if (result.code === SUCCESS) {
      if (!failing.delete(collector)) return undefined
      log(Effect.logInfo(`OpenTelemetry export to ${collector} works again (${signal})`))
      return "recovered"
    }
    if (failing.has(collector)) return undefined
    failing.add(collector)
    log(Effect.logWarning(
      `OpenTelemetry export of ${signal} to ${url} failed: ${result.error?.message ?? "unknown error"}; ` +
        `spans and metrics are dropped while ${collector} cannot be reached (not repeated until it works again)`
    ))
    return "failed"
  }

  const spans = (exporter: SpanExporter, url: string): SpanExporter => ({
    export: (batch, done) =>
      exporter.export(batch, (result) => {
        observe("traces", url, result)
        done(result)
      }),
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve()
  })

  const metrics = (exporter: PushMetricExporter, url: string): PushMetricExporter => {
    const watched: PushMetricExporter = {
      export: (batch, done) =>
        exporter.export(batch, (result) => {
          observe("metrics", url, result)
          done(result)
        }),
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush()
    }
    // the reader asks the exporter for temporality and aggregation: pass its answers through
    const temporality = exporter.selectAggregationTemporality
    if (temporality !== undefined) watched.selectAggregationTemporality = temporality.bind(exporter)
    const aggregation = exporter.selectAggregation
    if (aggregation !== undefined) watched.selectAggregation = aggregation.bind(exporter)
    return watched
  }

  return { spans, metrics, observe }
})
