/**
 * What `/status` and `/ready` answer (and `effect-mm2 status` prints): every herder with its
 * tasks (state, since when, restarts, last error) and its replicated source partitions (state,
 * end offset, replicated position, records behind, last checkpoint), and whether the instance is
 * ready. Built from the TaskRegistry and the Progress table; times are ISO-8601 UTC strings.
 */
import { Clock, Effect, Metric, MetricState } from "effect"
import type { MetricPair } from "effect/MetricPair"
import type { TaskStatus } from "../supervision/TaskState.js"
import * as Metrics from "../telemetry/Metrics.js"
import * as Progress from "../telemetry/Progress.js"
import { phaseOf, type TaskPhase } from "../telemetry/TaskPhase.js"

export interface TaskReport {
  readonly task: string
  readonly kind: "replication" | "metadata"
  readonly state: TaskPhase
  readonly since: string
  /** restarts in the current run of failures (0 unless restarting) */
  readonly restarts: number
  /** the error of the last restart, or why it stopped; null while healthy */
  readonly lastError: string | null
  /** records never replicated (see README, "Purged or recreated source partitions") */
  readonly lostRecords: number
}

export interface PartitionReport {
  readonly topic: string
  readonly remoteTopic: string
  readonly partition: number
  readonly state: Progress.PartitionState
  readonly endOffset: string | null
  readonly replicatedPosition: string | null
  readonly recordsBehind: number | null
  readonly recordsBehindAgeSeconds: number
  readonly lastReplicatedAt: string | null
  readonly lastCheckpointAt: string | null
}

export interface HerderReport {
  /** `source->target`; also the flow's name */
  readonly herder: string
  readonly lastHeartbeatAt: string | null
  readonly lastCheckpointRoundAt: string | null
  readonly tasks: ReadonlyArray<TaskReport>
  readonly partitions: ReadonlyArray<PartitionReport>
}

export interface StatusReport {
  readonly at: string
  readonly ready: boolean
  /** why not ready (empty when ready) */
  readonly reasons: ReadonlyArray<string>
  readonly herders: ReadonlyArray<HerderReport>
}

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined || ms <= 0 ? null : new Date(ms).toISOString())

const taskReport = (s: TaskStatus): TaskReport => {
  const st = s.state
  return {
    task: s.task,
    kind: s.kind,
    state: phaseOf(s),
    since: new Date(st.since).toISOString(),
    restarts: st._tag === "Restarting" ? st.restarts : 0,
    lastError: st._tag === "Restarting" ? st.lastError : st._tag === "Stopped" && st.fatal ? st.reason : null,
    lostRecords: (s.lostRanges ?? []).reduce((n, r) => n + r.records, 0)
  }
}

/** Why the instance is not ready: every replication task must be running and caught up once. */
export const notReadyReasons = (tasks: ReadonlyArray<TaskStatus>): ReadonlyArray<string> => {
  if (tasks.length === 0) return ["no task has started yet"]
  return tasks
    .filter((t) => t.kind === "replication")
    .flatMap((t) => {
      const phase = phaseOf(t)
      if (phase === "running") return []
      const detail = t.state._tag === "Restarting"
        ? `: ${t.state.lastError}`
        : t.state._tag === "Stopped"
        ? `: ${t.state.reason}`
        : phase === "catching-up"
        ? ": not yet caught up once"
        : ""
      return [`flow ${t.herder}: ${phase}${detail}`]
    })
}

/** Epoch ms from a per-herder timestamp gauge (seconds), null when never set; read from a snapshot so nothing is created. */
const timestampOf = (pairs: ReadonlyArray<MetricPair.Untyped>, name: string, herder: string): number | null => {
  for (const p of pairs) {
    if (p.metricKey.name !== name || !p.metricKey.tags.some((t) => t.key === "flow" && t.value === herder)) continue
    const state: unknown = p.metricState
    if (MetricState.isGaugeState(state) && Number(state.value) > 0) return Number(state.value) * 1_000
  }
  return null
}

/** Where the report reads task states: the TaskRegistry, or an embedding host's `{ all: replicator.tasks }`. */
export interface TaskSource {
  readonly all: Effect.Effect<ReadonlyArray<TaskStatus>>
}

/** The instance as it is now. */
export const build = (registry: TaskSource) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const tasks = yield* registry.all
    const pairs = yield* Metric.snapshot
    const herders: Array<HerderReport> = []
    for (const name of [...new Set(tasks.map((t) => t.herder))]) {
      const mine = tasks.filter((t) => t.herder === name)
      herders.push({
        herder: name,
        lastHeartbeatAt: iso(timestampOf(pairs, Metrics.LAST_HEARTBEAT, name)),
        lastCheckpointRoundAt: iso(timestampOf(pairs, Metrics.LAST_CHECKPOINT, name)),
        tasks: mine.map(taskReport),
        partitions: Progress.partitionsOf(name, now).map((p) => ({
          ...p,
          lastReplicatedAt: iso(p.lastReplicatedAt),
          lastCheckpointAt: iso(p.lastCheckpointAt)
        }))
      })
    }
    const reasons = notReadyReasons(tasks)
    return { at: new Date(now).toISOString(), ready: reasons.length === 0, reasons, herders } satisfies StatusReport
  })
