/**
 * The telemetry layer against a loopback OTLP/HTTP receiver (no collector needed): the URL,
 * content type and headers of each protocol, and one warning for an unreachable collector.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Logger, Metric } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as Telemetry from "../../../src/telemetry/Telemetry.js"

interface Received {
  readonly path: string
  readonly contentType: string
  readonly tenant: string
  readonly body: Buffer
}

const close = (server: http.Server) =>
  Effect.async<void>((resume) => {
    // closing twice (the unreachable case closes it early) reports an error we do not need
    server.close(() => resume(Effect.void))
  })

const receiver = Effect.acquireRelease(
  Effect.async<{ readonly port: number; readonly received: Array<Received>; readonly server: http.Server }>((resume) => {
    const received: Array<Received> = []
    const server = http.createServer((req, res) => {
      const parts: Array<Buffer> = []
      req.on("data", (c: Buffer) => parts.push(c))
      req.on("end", () => {
        received.push({
          path: req.url ?? "",
          contentType: String(req.headers["content-type"]),
          tenant: String(req.headers["x-tenant"]),
          body: Buffer.concat(parts)
        })
        res.writeHead(200, { "content-type": req.headers["content-type"] ?? "application/json" })
        res.end(req.headers["content-type"] === "application/json" ? "{}" : undefined)
      })
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ port: (server.address() as AddressInfo).port, received, server })))
  }),
  ({ server }) => close(server)
)

/** Runs a few spans and a metric with the layer the variables describe, then closes it (which flushes). */
const exportWith = (env: Readonly<Record<string, string>>, logs: Array<string> = []) =>
  Effect.gen(function*() {
    yield* Effect.withSpan("mm2.unit", { root: true, attributes: { flow: "a->b" } })(Effect.void)
    yield* Metric.increment(Metric.counter("mm2_unit_exported"))
  }).pipe(
    Effect.provide(Telemetry.layer),
    Effect.provide(Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => {
      logs.push(Array.isArray(message) ? message.join(" ") : String(message))
    }))),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
  )

describe("OTLP export", () => {
  for (const protocol of ["http/protobuf", "http/json"] as const) {
    it.scopedLive(`${protocol}: traces and metrics to /v1/<signal> with the configured headers`, () =>
      Effect.gen(function*() {
        const { port, received } = yield* receiver
        yield* exportWith({
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
          OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
          OTEL_EXPORTER_OTLP_HEADERS: "x-tenant=mm2%20eu",
          OTEL_SERVICE_NAME: "mm2-unit"
        })
        const type = protocol === "http/json" ? "application/json" : "application/x-protobuf"
        const traces = received.filter((r) => r.path === "/v1/traces")
        expect(traces.length).toBeGreaterThan(0)
        expect(received.some((r) => r.path === "/v1/metrics")).toBe(true)
        for (const r of received) {
          expect(r.contentType).toBe(type)
          expect(r.tenant).toBe("mm2 eu")
        }
        // the span and the service name are in the payload, whatever its encoding
        const body = Buffer.concat(traces.map((r) => r.body)).toString("latin1")
        expect(body).toContain("mm2.unit")
        expect(body).toContain("mm2-unit")
      }))
  }

  it.scopedLive("an unreachable collector: one warning, naming the URL", () =>
    Effect.gen(function*() {
      const { port, server } = yield* receiver
      // a port nothing listens on any more
      yield* close(server)
      const logs: Array<string> = []
      // a short timeout: the exporter retries a refused connection for up to its timeout (10 s by default)
      yield* exportWith({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_TIMEOUT: "300" }, logs)
      const warnings = logs.filter((l) => l.includes("OpenTelemetry export"))
      expect(warnings.length, warnings.join("\n")).toBe(1)
      expect(warnings[0]).toContain(`to http://127.0.0.1:${port}/v1/`)
    }))

  it.effect("OTEL_SDK_DISABLED=true: nothing is set up (no tracer installed)", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      yield* exportWith({ OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1" }, logs)
      expect(logs).toEqual([])
    }))
})
