import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Option } from "effect"
import { settings, type TelemetrySettings } from "../../../src/telemetry/OtlpSettings.js"

const withEnv = (env: Readonly<Record<string, string>>) =>
  settings.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))

const some = (env: Readonly<Record<string, string>>): Effect.Effect<TelemetrySettings, Error> =>
  Effect.flatMap(withEnv(env), (o) => Option.isSome(o) ? Effect.succeed(o.value) : Effect.fail(new Error("export is off")))

const failure = (env: Readonly<Record<string, string>>) =>
  Effect.map(Effect.either(withEnv(env)), (e) => (Either.isLeft(e) ? e.left.message : "no error"))

describe("OTEL_* environment variables", () => {
  it.effect("nothing set, or only unrelated variables: export is off", () =>
    Effect.gen(function*() {
      expect(yield* withEnv({})).toEqual(Option.none())
      expect(yield* withEnv({ OTEL_SERVICE_NAME: "x", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_EXPORTER_OTLP_ENDPOINT: " " }))
        .toEqual(Option.none())
    }))

  it.effect("OTEL_SDK_DISABLED=true (any case) turns everything off, even a bad endpoint; other values do not", () =>
    Effect.gen(function*() {
      expect(yield* withEnv({ OTEL_SDK_DISABLED: "TRUE", OTEL_EXPORTER_OTLP_ENDPOINT: "not-a-url" })).toEqual(Option.none())
      const on = yield* some({ OTEL_SDK_DISABLED: "false", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" })
      expect(Option.isSome(on.traces)).toBe(true)
    }))

  it.effect("the base endpoint gets /v1/traces and /v1/metrics; defaults: http/protobuf, effect-mm2, 10 s", () =>
    Effect.gen(function*() {
      const s = yield* some({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })
      expect(s.traces).toEqual(Option.some({ url: "http://collector:4318/v1/traces", protocol: "http/protobuf", headers: {}, timeoutMillis: Option.none() }))
      expect(s.metrics).toEqual(Option.some({ url: "http://collector:4318/v1/metrics", protocol: "http/protobuf", headers: {}, timeoutMillis: Option.none() }))
      expect(s.serviceName).toBe("effect-mm2")
      expect(s.metricExportIntervalMillis).toBe(10_000)
      const slash = yield* some({ OTEL_EXPORTER_OTLP_ENDPOINT: "https://c/otlp/" })
      expect(Option.map(slash.traces, (t) => t.url)).toEqual(Option.some("https://c/otlp/v1/traces"))
    }))

  it.effect("signal-specific endpoints are used as they are, and alone enable only their signal", () =>
    Effect.gen(function*() {
      const s = yield* some({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://t:4318/custom" })
      expect(Option.map(s.traces, (t) => t.url)).toEqual(Option.some("http://t:4318/custom"))
      expect(s.metrics).toEqual(Option.none())
      const both = yield* some({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://base:4318",
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://m:9090/api/v1/otlp/v1/metrics"
      })
      expect(Option.map(both.traces, (t) => t.url)).toEqual(Option.some("http://base:4318/v1/traces"))
      expect(Option.map(both.metrics, (t) => t.url)).toEqual(Option.some("http://m:9090/api/v1/otlp/v1/metrics"))
    }))

  it.effect("OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER = none turn one signal off", () =>
    Effect.gen(function*() {
      const s = yield* some({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_METRICS_EXPORTER: "none" })
      expect(Option.isSome(s.traces)).toBe(true)
      expect(s.metrics).toEqual(Option.none())
      expect(yield* withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_METRICS_EXPORTER: "none", OTEL_TRACES_EXPORTER: "none" }))
        .toEqual(Option.none())
      expect(yield* failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "zipkin" }))
        .toBe(`OTEL_TRACES_EXPORTER: expected otlp or none, got "zipkin"`)
    }))

  it.effect("protocols: http/json and http/protobuf, the signal-specific one wins; grpc is a clear error naming the variable", () =>
    Effect.gen(function*() {
      const s = yield* some({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: "http/protobuf"
      })
      expect(Option.map(s.traces, (t) => t.protocol)).toEqual(Option.some("http/json"))
      expect(Option.map(s.metrics, (t) => t.protocol)).toEqual(Option.some("http/protobuf"))
      expect(yield* failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }))
        .toMatch(/^OTEL_EXPORTER_OTLP_PROTOCOL: grpc is not supported; use http\/protobuf/)
      expect(yield* failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpc" }))
        .toMatch(/^OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: grpc is not supported/)
      expect(yield* failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: "json" }))
        .toBe(`OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: expected http/protobuf or http/json, got "json"`)
    }))

  it.effect("a URL that is not http(s) names its variable", () =>
    Effect.gen(function*() {
      expect(yield* failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "not-a-url" }))
        .toBe(`OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:// or https:// URL such as http://127.0.0.1:4318, got "not-a-url"`)
      expect(yield* failure({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "grpc://c:4317" }))
        .toMatch(/^OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: expected an http:\/\/ or https:\/\/ URL/)
    }))

  it.effect("headers: key=value pairs, percent-decoded, signal-specific ones win key by key; malformed ones name the variable", () =>
    Effect.gen(function*() {
      const s = yield* some({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
        OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Bearer%20abc, x-tenant = a ,",
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-tenant=b"
      })
      expect(Option.map(s.traces, (t) => t.headers)).toEqual(Option.some({ Authorization: "Bearer abc", "x-tenant": "b" }))
      expect(Option.map(s.metrics, (t) => t.headers)).toEqual(Option.some({ Authorization: "Bearer abc", "x-tenant": "a" }))
      expect(yield* failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_HEADERS: "just-a-token" }))
        .toBe(`OTEL_EXPORTER_OTLP_HEADERS: expected comma-separated key=value pairs, got "just-a-token"`)
      expect(yield* failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_METRICS_HEADERS: "k=%zz" }))
        .toBe("OTEL_EXPORTER_OTLP_METRICS_HEADERS: the value of k is not valid percent-encoding")
    }))

  it.effect("service name: OTEL_SERVICE_NAME, else service.name of OTEL_RESOURCE_ATTRIBUTES, else effect-mm2", () =>
    Effect.gen(function*() {
      const base = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }
      const attrs = "service.name=from-attrs,deployment.environment=prod%2Ceu,service.namespace=kafka"
      const a = yield* some({ ...base, OTEL_RESOURCE_ATTRIBUTES: attrs })
      expect(a.serviceName).toBe("from-attrs")
      expect(a.resourceAttributes).toEqual({ "service.name": "from-attrs", "deployment.environment": "prod,eu", "service.namespace": "kafka" })
      expect((yield* some({ ...base, OTEL_RESOURCE_ATTRIBUTES: attrs, OTEL_SERVICE_NAME: "mm2-eu" })).serviceName).toBe("mm2-eu")
    }))

  it.effect("export timeouts: OTEL_EXPORTER_OTLP_TIMEOUT, the signal-specific one wins", () =>
    Effect.gen(function*() {
      const s = yield* some({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
        OTEL_EXPORTER_OTLP_TIMEOUT: "2000",
        OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "500"
      })
      expect(Option.map(s.traces, (t) => t.timeoutMillis)).toEqual(Option.some(Option.some(500)))
      expect(Option.map(s.metrics, (t) => t.timeoutMillis)).toEqual(Option.some(Option.some(2000)))
      expect(yield* failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: "-1" }))
        .toBe(`OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: expected a positive number of milliseconds, got "-1"`)
    }))

  it.effect("OTEL_METRIC_EXPORT_INTERVAL in milliseconds", () =>
    Effect.gen(function*() {
      const base = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }
      expect((yield* some({ ...base, OTEL_METRIC_EXPORT_INTERVAL: "60000" })).metricExportIntervalMillis).toBe(60_000)
      expect(yield* failure({ ...base, OTEL_METRIC_EXPORT_INTERVAL: "10s" }))
        .toBe(`OTEL_METRIC_EXPORT_INTERVAL: expected a positive number of milliseconds, got "10s"`)
    }))
})
