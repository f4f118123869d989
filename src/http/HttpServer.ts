/**
 * The one HTTP server of an instance, off unless asked for (`--http-port`, or
 * `effect-mm2.http.port` in the properties file). Bound to 127.0.0.1 unless another host is
 * given: metrics and status name topics and groups, which is nobody else's business by default.
 *
 *   GET /metrics   every metric, Prometheus text format (see telemetry/Prometheus.ts)
 *   GET /health    200 while the process runs (liveness)
 *   GET /ready     200 when every replication task is running and has caught up once, else 503
 *   GET /status    JSON StatusReport (see StatusReport.ts)
 */
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Clock, Effect, Layer } from "effect"
import { createServer } from "node:http"
import * as Progress from "../telemetry/Progress.js"
import * as Prometheus from "../telemetry/Prometheus.js"
import * as StatusReport from "./StatusReport.js"

import type { HttpSettings } from "./HttpSettings.js"

export { DEFAULT_HOST, type HttpSettings } from "./HttpSettings.js"

const json = (body: unknown, status = 200) =>
  HttpServerResponse.text(`${JSON.stringify(body, null, 2)}\n`, { status, contentType: "application/json" })

/** The routes, reading task states from `registry` (the TaskRegistry, or `{ all: replicator.tasks }` when embedded). */
export const router = (registry: StatusReport.TaskSource) =>
  HttpRouter.empty.pipe(
    HttpRouter.get(
      "/metrics",
      Effect.gen(function*() {
        // ages and rates move with time alone: brought up to date for this scrape
        yield* Progress.refresh(yield* Clock.currentTimeMillis)
        return HttpServerResponse.text(yield* Prometheus.scrape, { contentType: Prometheus.CONTENT_TYPE })
      })
    ),
    HttpRouter.get("/health", json({ status: "up" })),
    HttpRouter.get(
      "/ready",
      Effect.map(registry.all, (tasks) => {
        const reasons = StatusReport.notReadyReasons(tasks)
        return json({ ready: reasons.length === 0, reasons }, reasons.length === 0 ? 200 : 503)
      })
    ),
    HttpRouter.get(
      "/status",
      Effect.flatMap(Effect.zipRight(Effect.flatMap(Clock.currentTimeMillis, Progress.refresh), StatusReport.build(registry)), (r) => json(r))
    ),
    Effect.catchTag("RouteNotFound", () => json({ error: "not found: GET /metrics, /health, /ready or /status" }, 404))
  )

/**
 * The server as a Layer: listening once built, closed with its scope. Fails with ServeError when
 * the address cannot be bound (e.g. the port is taken).
 */
export const layer = (registry: StatusReport.TaskSource, settings: HttpSettings) =>
  router(registry).pipe(
    HttpServer.serve(),
    HttpServer.withLogAddress,
    Layer.provide(NodeHttpServer.layer(() => createServer(), { port: settings.port, host: settings.host }))
  )
