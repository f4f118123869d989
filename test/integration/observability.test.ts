/**
 * The HTTP server of a real instance (`node dist/main.js --http-port N`) on a real replication:
 * /health, /ready (503 until caught up, then 200), /status (tasks, partitions, checkpoints,
 * heartbeats), /metrics (every metric name the alert rules and the Grafana dashboard in config/
 * use), the `status` subcommand; and a failed task shown as failed, never ready.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { inject } from "vitest"
import type { StatusReport } from "../../src/http/StatusReport.js"
import {
  createTopic,
  endOffsets,
  eventually,
  flowProps,
  produceToPartitions,
  uniqueId,
  withAdmin,
  writeProps
} from "./support/kafka.js"
import { closedLoopbackPort, REPO_ROOT, spawnMm2 } from "./support/process.js"
import { indexedRecords } from "./support/records.js"

interface Answer {
  readonly status: number
  readonly body: string
}

const get = (port: number, route: string) =>
  Effect.tryPromise({
    try: async (): Promise<Answer> => {
      const r = await fetch(`http://127.0.0.1:${port}${route}`, { signal: AbortSignal.timeout(5_000) })
      return { status: r.status, body: await r.text() }
    },
    catch: (e) => new Error(`GET ${route}: ${String(e)}`)
  })

/** `get`, where "nobody listens yet" is an answer with status 0. */
const tryGet = (port: number, route: string) => get(port, route).pipe(Effect.orElseSucceed((): Answer => ({ status: 0, body: "" })))

const statusOf = (port: number) => Effect.map(get(port, "/status"), (a) => JSON.parse(a.body) as StatusReport)

/** Every `effect_mm2_*` name in the alert rules and the dashboard. */
const namesInConfigFiles = (): ReadonlyArray<string> => {
  const text = ["prometheus-alerts.yml", "grafana-dashboard.json"]
    .map((f) => fs.readFileSync(path.join(REPO_ROOT, "config", f), "utf8"))
    .join("\n")
  return [...new Set(text.match(/effect_mm2_[a-z0-9_]+/g) ?? [])].sort()
}

/** Family names on a /metrics page (from its `# TYPE` lines). */
const familiesOf = (page: string): ReadonlySet<string> =>
  new Set(page.split("\n").filter((l) => l.startsWith("# TYPE ")).map((l) => l.split(" ")[2]!))

describe("observability over HTTP", () => {
  it.scopedLive("/health, /ready, /status, /metrics and `status` on a real replication", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [p, b] = [`p${id}`, `b${id}`]
      const prefix = `obs${id}`
      const topic = `${prefix}-t`
      const remote = `${p}.${topic}`
      const group = `${prefix}-group`
      const records = indexedRecords("obs", 600, 3)
      yield* createTopic(primary, topic, 3)
      yield* produceToPartitions(primary, topic, records)
      // a consumer group on the source, so checkpoints (and their metrics) are written
      yield* withAdmin(primary, (a) => a.commitGroupOffsets(group, [0, 1, 2].map((partition) => ({ topic, partition, offset: "100" }))))

      const port = yield* closedLoopbackPort
      const file = yield* writeProps(flowProps({
        source: p,
        target: b,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: `${prefix}.*`,
        extra: {
          "groups": `${prefix}.*`,
          "emit.checkpoints.interval.seconds": "1",
          "emit.heartbeats.interval.seconds": "1",
          "offset.lag.max": "10"
        }
      }))
      const child = yield* spawnMm2(["--config", file, "--http-port", String(port)])

      // the server listens before the herders start: alive at once, not ready
      const health = yield* eventually(() => `/health\n${child.tail()}`, tryGet(port, "/health"), (a) => a.status !== 0, { timeout: "60 seconds", interval: "50 millis" })
      const early = yield* get(port, "/ready")
      expect(health.status, child.tail()).toBe(200)
      expect(JSON.parse(health.body)).toEqual({ status: "up" })
      expect(early.status, early.body).toBe(503)
      expect(JSON.parse(early.body)).toMatchObject({ ready: false })
      expect((JSON.parse(early.body) as { reasons: Array<string> }).reasons.length).toBeGreaterThan(0)

      const ready = yield* eventually(() => `/ready 200\n${child.tail()}`, tryGet(port, "/ready"), (a) => a.status === 200, { timeout: "90 seconds" })
      expect(JSON.parse(ready.body)).toEqual({ ready: true, reasons: [] })

      // caught up: every partition at the source's end offsets, nothing behind
      const ends = yield* endOffsets(primary, topic)
      const status = yield* eventually(
        () => `/status with checkpoints and heartbeats\n${child.tail()}`,
        statusOf(port),
        (s) => {
          const h = s.herders.find((x) => x.herder === `${p}->${b}`)
          return h !== undefined && h.lastHeartbeatAt !== null && h.lastCheckpointRoundAt !== null &&
            h.partitions.length === 3 && h.partitions.every((x) => x.lastCheckpointAt !== null)
        },
        { timeout: "60 seconds" }
      )
      expect(status.ready).toBe(true)
      const herder = status.herders.find((x) => x.herder === `${p}->${b}`)!
      const replication = herder.tasks.find((t) => t.task === "replication")!
      expect(replication).toMatchObject({ kind: "replication", state: "running", restarts: 0, lastError: null, lostRecords: 0 })
      expect(herder.tasks.map((t) => t.task)).toEqual(expect.arrayContaining(["replication", "heartbeats", "checkpoints", "offset-syncs"]))
      expect(herder.partitions.map((x) => ({
        topic: x.topic,
        remoteTopic: x.remoteTopic,
        partition: x.partition,
        state: x.state,
        endOffset: x.endOffset,
        replicatedPosition: x.replicatedPosition,
        recordsBehind: x.recordsBehind,
        recordsBehindAgeSeconds: x.recordsBehindAgeSeconds
      }))).toEqual(ends.map((end, partition) => ({
        topic,
        remoteTopic: remote,
        partition,
        state: "caught-up",
        endOffset: String(end),
        replicatedPosition: String(end),
        recordsBehind: 0,
        recordsBehindAgeSeconds: 0
      })))
      for (const x of herder.partitions) expect(Date.parse(x.lastReplicatedAt ?? "")).toBeGreaterThan(0)

      // /metrics: Prometheus text with every name the alert rules and the dashboard use
      const metrics = yield* eventually(
        "/metrics with the checkpoint and failover metrics",
        get(port, "/metrics"),
        (a) => a.body.includes("effect_mm2_failover_reread_records{") && a.body.includes("effect_mm2_checkpoint_latency_ms{")
      )
      expect(metrics.status).toBe(200)
      const families = familiesOf(metrics.body)
      const used = namesInConfigFiles()
      expect(used.length).toBeGreaterThan(10)
      expect(used.filter((n) => !families.has(n))).toEqual([])
      // MM2's names, per target topic and partition, with the flow
      for (const n of ["record_count_total", "byte_count_total", "record_rate", "byte_rate", "record_age_ms", "replication_latency_ms_min"]) {
        expect(metrics.body).toMatch(new RegExp(`^effect_mm2_${n}\\{flow="${p}->${b}",source="${p}",target="${b}",topic="${remote}",partition="0"\\} `, "m"))
      }
      const counted = [...metrics.body.matchAll(new RegExp(`^effect_mm2_record_count_total\\{flow="${p}->${b}".*\\} (\\d+)$`, "gm"))]
      expect(counted.reduce((n, m) => n + Number(m[1]), 0)).toBe(records.length)
      expect(metrics.body).toMatch(new RegExp(`^effect_mm2_records_behind\\{flow="${p}->${b}",topic="${topic}",partition="1"\\} 0$`, "m"))
      expect(metrics.body).toMatch(new RegExp(`^effect_mm2_task_state\\{flow="${p}->${b}",task="replication",kind="replication",state="running"\\} 1$`, "m"))
      expect(metrics.body).toMatch(new RegExp(`^effect_mm2_queue_depth\\{flow="${p}->${b}"\\} 0$`, "m"))

      // anything else is a 404
      expect((yield* get(port, "/nope")).status).toBe(404)

      // the `status` subcommand prints the same as tables, and exits 0 when ready
      const cmd = yield* spawnMm2(["status", "--http-port", String(port)])
      const exit = yield* cmd.waitExit("30 seconds", "effect-mm2 status")
      expect(exit.code, cmd.tail()).toBe(0)
      expect(cmd.stdout()).toContain("READY")
      expect(cmd.stdout()).toContain(`herder ${p}->${b}`)
      expect(cmd.stdout()).toMatch(/TASK\s+STATE\s+SINCE\s+RESTARTS\s+LAST ERROR/)
      expect(cmd.stdout()).toMatch(new RegExp(`${topic} -> ${remote}\\s+0\\s+caught-up`))

      yield* child.kill("SIGTERM")
      expect((yield* child.waitExit("60 seconds", "effect-mm2 after SIGTERM")).code, child.tail()).toBe(0)
    }), 240_000)

  it.scopedLive("a failed task shows as failed, and the instance is not ready", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [p, b, d] = [`p${id}`, `b${id}`, `d${id}`]
      const prefix = `obsf${id}`
      yield* createTopic(primary, `${prefix}-t`, 1)
      yield* produceToPartitions(primary, `${prefix}-t`, indexedRecords("f", 10, 1))
      const port = yield* closedLoopbackPort
      const dead = yield* closedLoopbackPort
      const file = yield* writeProps({
        ...flowProps({ source: p, target: b, sourceBootstrap: primary, targetBootstrap: backup, topics: `${prefix}.*` }),
        "clusters": `${p}, ${b}, ${d}`,
        [`${d}.bootstrap.servers`]: `127.0.0.1:${dead}`,
        [`${p}->${d}.enabled`]: "true",
        [`${p}->${d}.topics`]: `${prefix}.*`,
        // gives up on the unreachable cluster quickly: fatal, the task stops for good
        "admin.timeout.ms": "3000"
      })
      const child = yield* spawnMm2(["--config", file, "--http-port", String(port)])
      const status = yield* eventually(
        () => `flow ${p}->${d} failed in /status\n${child.tail()}`,
        Effect.flatMap(tryGet(port, "/status"), (a) => Effect.succeed(a.status === 200 ? JSON.parse(a.body) as StatusReport : undefined)),
        (s) => s?.herders.find((h) => h.herder === `${p}->${d}`)?.tasks.find((t) => t.task === "replication")?.state === "failed",
        { timeout: "90 seconds" }
      )
      const failed = status!.herders.find((h) => h.herder === `${p}->${d}`)!.tasks.find((t) => t.task === "replication")!
      expect(failed.lastError).toContain(d)
      expect(status!.ready).toBe(false)
      expect(status!.reasons.join("\n")).toContain(`flow ${p}->${d}: failed: `)
      // the healthy flow next to it catches up; the instance is still not ready
      yield* eventually("healthy flow running", statusOf(port), (s) =>
        s.herders.find((h) => h.herder === `${p}->${b}`)?.tasks.find((t) => t.task === "replication")?.state === "running")
      const notReady = yield* get(port, "/ready")
      expect(notReady.status).toBe(503)
      expect(notReady.body).toContain(`flow ${p}->${d}: failed: `)
      const metrics = (yield* get(port, "/metrics")).body
      expect(metrics).toMatch(new RegExp(`^effect_mm2_task_state\\{flow="${p}->${d}",task="replication",kind="replication",state="failed"\\} 1$`, "m"))
      expect(metrics).toMatch(new RegExp(`^effect_mm2_task_state\\{flow="${p}->${d}",task="replication",kind="replication",state="running"\\} 0$`, "m"))

      const cmd = yield* spawnMm2(["status", "--http-port", String(port)])
      const exit = yield* cmd.waitExit("30 seconds", "effect-mm2 status")
      expect(exit.code, cmd.tail()).toBe(1)
      expect(cmd.stdout()).toContain("NOT READY")
      expect(cmd.stdout()).toMatch(/replication\s+failed/)
    }), 180_000)
})
