/**
 * The standard OpenTelemetry environment variables, read and checked once at start-up (see the
 * OTLP exporter specification): which signals are exported, where, how, and as what service.
 * Export is off unless an endpoint variable is set, and off altogether with OTEL_SDK_DISABLED=true.
 *
 * Compression and TLS files (OTEL_EXPORTER_OTLP_[TRACES_|METRICS_]COMPRESSION, _CERTIFICATE,
 * _CLIENT_KEY, _CLIENT_CERTIFICATE) are read by the OTLP exporters themselves.
 */
import { Config, Data, Effect, Option } from "effect"

/** An OTEL_* variable we cannot use, named. */
export class TelemetryConfigError extends Data.TaggedError("TelemetryConfigError")<{
  readonly variable: string
  readonly detail: string
}> {
  override get message(): string {
    return `${this.variable}: ${this.detail}`
  }
}

export type OtlpProtocol = "http/protobuf" | "http/json"

export type Signal = "traces" | "metrics"

/** Where and how one signal is exported. */
export interface SignalExport {
  /** the full URL posted to (a signal-specific endpoint as given, else the base endpoint + `/v1/<signal>`) */
  readonly url: string
  readonly protocol: OtlpProtocol
  readonly headers: Readonly<Record<string, string>>
  /** per export, retries included (the exporter's default, 10 s, when unset) */
  readonly timeoutMillis: Option.Option<number>
}

export interface TelemetrySettings {
  readonly serviceName: string
  /** OTEL_RESOURCE_ATTRIBUTES, decoded (service.name is `serviceName`) */
  readonly resourceAttributes: Readonly<Record<string, string>>
  readonly traces: Option.Option<SignalExport>
  readonly metrics: Option.Option<SignalExport>
  readonly metricExportIntervalMillis: number
}

export const DEFAULT_SERVICE_NAME = "effect-mm2"
/** the specification's default; every OTLP/HTTP receiver must accept it (JSON is optional) */
export const DEFAULT_PROTOCOL: OtlpProtocol = "http/protobuf"
/** fresher than the specification's 60 s: replication dashboards look at the last minutes */
export const DEFAULT_METRIC_EXPORT_INTERVAL_MS = 10_000

/** A variable's value; unset and empty are the same (as the specification says). */
const variable = (name: string): Effect.Effect<Option.Option<string>> =>
  Config.option(Config.string(name)).pipe(
    Effect.orDie,
    Effect.map(Option.flatMap((v) => (v.trim() === "" ? Option.none() : Option.some(v.trim()))))
  )

const fail = (name: string, detail: string) => Effect.fail(new TelemetryConfigError({ variable: name, detail }))

const httpUrl = (name: string, value: string): Effect.Effect<string, TelemetryConfigError> => {
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {
    url = undefined
  }
  return url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")
    ? fail(name, `expected an http:// or https:// URL such as http://127.0.0.1:4318, got ${JSON.stringify(value)}`)
    : Effect.succeed(value)
}

/**
 * `key=value` pairs separated by commas, values percent-decoded (the W3C Baggage format that
 * OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES use).
 */
export const parseKeyValues = (name: string, value: string): Effect.Effect<Record<string, string>, TelemetryConfigError> => {
  const out: Record<string, string> = {}
  for (const entry of value.split(",")) {
    if (entry.trim() === "") continue
    const eq = entry.indexOf("=")
    const key = eq < 0 ? "" : entry.slice(0, eq).trim()
    if (key === "") return fail(name, `expected comma-separated key=value pairs, got ${JSON.stringify(entry.trim())}`)
    try {
      out[key] = decodeURIComponent(entry.slice(eq + 1).trim())
    } catch {
      return fail(name, `the value of ${key} is not valid percent-encoding`)
    }
  }
  return Effect.succeed(out)
}

const protocolOf = (signal: Signal): Effect.Effect<OtlpProtocol, TelemetryConfigError> =>
  Effect.gen(function*() {
    const specific = `OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_PROTOCOL`
    const common = yield* variable("OTEL_EXPORTER_OTLP_PROTOCOL")
    const found = Option.orElse(
      Option.map(yield* variable(specific), (v) => [specific, v] as const),
      () => Option.map(common, (v) => ["OTEL_EXPORTER_OTLP_PROTOCOL", v] as const)
    )
    if (Option.isNone(found)) return DEFAULT_PROTOCOL
    const [name, value] = found.value
    if (value === "http/protobuf" || value === "http/json") return value
    return yield* fail(
      name,
      value === "grpc"
        ? "grpc is not supported; use http/protobuf (the default) or http/json, usually on the collector's port 4318"
        : `expected http/protobuf or http/json, got ${JSON.stringify(value)}`
    )
  })

/** Where `signal` goes, if anywhere. */
const signalExport = (signal: Signal): Effect.Effect<Option.Option<SignalExport>, TelemetryConfigError> =>
  Effect.gen(function*() {
    const upper = signal.toUpperCase()
    const exporterVar = `OTEL_${upper}_EXPORTER`
    const exporter = yield* variable(exporterVar)
    if (Option.isSome(exporter)) {
      if (exporter.value === "none") return Option.none()
      if (exporter.value !== "otlp") return yield* fail(exporterVar, `expected otlp or none, got ${JSON.stringify(exporter.value)}`)
    }
    const specificVar = `OTEL_EXPORTER_OTLP_${upper}_ENDPOINT`
    const specific = yield* variable(specificVar)
    const base = yield* variable("OTEL_EXPORTER_OTLP_ENDPOINT")
    let url: string
    if (Option.isSome(specific)) {
      // signal-specific URLs are used as they are
      url = yield* httpUrl(specificVar, specific.value)
    } else if (Option.isSome(base)) {
      const b = yield* httpUrl("OTEL_EXPORTER_OTLP_ENDPOINT", base.value)
      url = `${b.endsWith("/") ? b : `${b}/`}v1/${signal}`
    } else {
      return Option.none()
    }
    const protocol = yield* protocolOf(signal)
    const commonTimeout = yield* variable("OTEL_EXPORTER_OTLP_TIMEOUT")
    const headersVar = `OTEL_EXPORTER_OTLP_${upper}_HEADERS`
    const common = yield* Effect.flatMap(variable("OTEL_EXPORTER_OTLP_HEADERS"), (v) =>
      Option.isSome(v) ? parseKeyValues("OTEL_EXPORTER_OTLP_HEADERS", v.value) : Effect.succeed({}))
    const own = yield* Effect.flatMap(variable(headersVar), (v) =>
      Option.isSome(v) ? parseKeyValues(headersVar, v.value) : Effect.succeed({}))
    const timeoutVar = `OTEL_EXPORTER_OTLP_${upper}_TIMEOUT`
    const timeout = Option.orElse(
      Option.map(yield* variable(timeoutVar), (v) => [timeoutVar, v] as const),
      () => Option.map(commonTimeout, (v) => ["OTEL_EXPORTER_OTLP_TIMEOUT", v] as const)
    )
    let timeoutMillis = Option.none<number>()
    if (Option.isSome(timeout)) {
      const [name, value] = timeout.value
      const n = Number(value)
      if (!Number.isInteger(n) || n <= 0) return yield* fail(name, `expected a positive number of milliseconds, got ${JSON.stringify(value)}`)
      timeoutMillis = Option.some(n)
    }
    // signal-specific headers win over the common ones, key by key
    return Option.some({ url, protocol, headers: { ...common, ...own }, timeoutMillis })
  })

/** Reads and checks the OTEL_* variables; `None` when nothing is to be exported. */
export const settings: Effect.Effect<Option.Option<TelemetrySettings>, TelemetryConfigError> = Effect.gen(function*() {
  const disabled = yield* variable("OTEL_SDK_DISABLED")
  if (Option.isSome(disabled) && disabled.value.toLowerCase() === "true") return Option.none()
  const traces = yield* signalExport("traces")
  const metrics = yield* signalExport("metrics")
  if (Option.isNone(traces) && Option.isNone(metrics)) return Option.none()
  const resourceAttributes = yield* Effect.flatMap(variable("OTEL_RESOURCE_ATTRIBUTES"), (v) =>
    Option.isSome(v) ? parseKeyValues("OTEL_RESOURCE_ATTRIBUTES", v.value) : Effect.succeed<Record<string, string>>({}))
  const serviceName = Option.getOrElse(
    yield* variable("OTEL_SERVICE_NAME"),
    () => resourceAttributes["service.name"] ?? DEFAULT_SERVICE_NAME
  )
  const intervalVar = yield* variable("OTEL_METRIC_EXPORT_INTERVAL")
  let metricExportIntervalMillis = DEFAULT_METRIC_EXPORT_INTERVAL_MS
  if (Option.isSome(intervalVar)) {
    const n = Number(intervalVar.value)
    if (!Number.isInteger(n) || n <= 0) {
      return yield* fail("OTEL_METRIC_EXPORT_INTERVAL", `expected a positive number of milliseconds, got ${JSON.stringify(intervalVar.value)}`)
    }
    metricExportIntervalMillis = n
  }
  return Option.some({ serviceName, resourceAttributes, traces, metrics, metricExportIntervalMillis })
})
