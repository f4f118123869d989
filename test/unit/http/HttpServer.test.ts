import { HttpApp } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as HttpServer from "../../../src/http/HttpServer.js"
import type { StatusReport } from "../../../src/http/StatusReport.js"
import { TaskRegistry } from "../../../src/supervision/TaskRegistry.js"
import { TaskState } from "../../../src/supervision/TaskState.js"
import * as Progress from "../../../src/telemetry/Progress.js"

const handlerOf = (registry: TaskRegistry["Type"]) => HttpApp.toWebHandler(HttpServer.router(registry))

const call = (handler: (r: Request) => Promise<Response>, route: string) =>
  Effect.promise(async () => {
    const r = await handler(new Request(`http://localhost${route}`))
    return { status: r.status, type: r.headers.get("content-type"), body: await r.text() }
  })

const unique = () => Math.random().toString(36).slice(2, 8)

describe("HTTP routes", () => {
  it.effect("/health is 200; /ready is 503 with no task yet; unknown routes are 404", () =>
    Effect.gen(function*() {
      const handler = handlerOf(yield* TaskRegistry.make)
      expect(yield* call(handler, "/health")).toMatchObject({ status: 200, body: "{\n  \"status\": \"up\"\n}\n" })
      const ready = yield* call(handler, "/ready")
      expect(ready.status).toBe(503)
      expect(JSON.parse(ready.body)).toEqual({ ready: false, reasons: ["no task has started yet"] })
      expect((yield* call(handler, "/other")).status).toBe(404)
    }))

  it.effect("ready only when every replication task runs and its flow caught up once; a failed task is never ready", () =>
    Effect.gen(function*() {
      const registry = yield* TaskRegistry.make
      const handler = handlerOf(registry)
      const herder = `a${unique()}->b`
      const other = `c${unique()}->d`
      yield* registry.update({ herder, task: "replication", kind: "replication", state: TaskState.Running({ since: 1 }) })
      yield* registry.update({ herder, task: "heartbeats", kind: "metadata", state: TaskState.Restarting({ since: 1, restarts: 2, lastError: "boom" }) })
      let ready = yield* call(handler, "/ready")
      expect(JSON.parse(ready.body)).toEqual({ ready: false, reasons: [`flow ${herder}: catching-up: not yet caught up once`] })
      yield* Progress.observedEnds({ name: herder, source: "a", target: "b" }, [], 0)
      ready = yield* call(handler, "/ready")
      // a metadata task restarting does not hold readiness back
      expect(ready).toMatchObject({ status: 200 })

      yield* registry.update({
        herder: other,
        task: "replication",
        kind: "replication",
        state: TaskState.Stopped({ since: 2, reason: "authentication failed", fatal: true })
      })
      ready = yield* call(handler, "/ready")
      expect(ready.status).toBe(503)
      expect(JSON.parse(ready.body)).toEqual({ ready: false, reasons: [`flow ${other}: failed: authentication failed`] })

      const status = yield* call(handler, "/status")
      expect(status.type).toContain("application/json")
      const report = JSON.parse(status.body) as StatusReport
      expect(report.ready).toBe(false)
      expect(report.herders.map((h) => [h.herder, h.tasks.map((t) => [t.task, t.state, t.restarts, t.lastError])])).toEqual([
        [herder, [["replication", "running", 0, null], ["heartbeats", "restarting", 2, "boom"]]],
        [other, [["replication", "failed", 0, "authentication failed"]]]
      ])
    }))

  it.effect("/metrics is Prometheus text", () =>
    Effect.gen(function*() {
      const metrics = yield* call(handlerOf(yield* TaskRegistry.make), "/metrics")
      expect(metrics.status).toBe(200)
      expect(metrics.type).toBe("text/plain; version=0.0.4; charset=utf-8")
    }))
})
