/**
 * task-state and task-restarts, kept from the TaskRegistry (where the supervisor keeps every
 * task's state) rather than from inside the supervisor: one follower per run of the herders.
 * Re-evaluated on every change and every few seconds (a replication task turns from catching-up
 * to running without a registry change).
 */
import { Duration, Effect, Metric, Schedule, Stream } from "effect"
import type { TaskRegistry } from "../supervision/TaskRegistry.js"
import type { TaskStatus } from "../supervision/TaskState.js"
import * as Metrics from "./Metrics.js"
import { PHASES, phaseOf } from "./TaskPhase.js"

const RECHECK = Duration.seconds(2)

const tagsOf = <T, I, O>(m: Metric.Metric<T, I, O>, s: TaskStatus) =>
  m.pipe(Metric.tagged("flow", s.herder), Metric.tagged("task", s.task), Metric.tagged("kind", s.kind))

/** Sets task-state of every task in `all`; counts each restart once (a new Restarting state). */
const record = (seen: Map<string, number>) => (all: ReadonlyArray<TaskStatus>) =>
  Effect.forEach(all, (s) =>
    Effect.gen(function*() {
      const phase = phaseOf(s)
      for (const p of PHASES) yield* Metric.set(tagsOf(Metrics.taskState, s).pipe(Metric.tagged("state", p)), p === phase ? 1 : 0)
      const id = `${s.herder}\u0000${s.task}`
      // at 0 from the task's first sight, so increase() sees its first restart
      if (!seen.has(id)) {
        seen.set(id, -1)
        yield* Metric.incrementBy(tagsOf(Metrics.taskRestarts, s), 0)
      }
      if (s.state._tag !== "Restarting") return
      if (seen.get(id) === s.state.since) return
      seen.set(id, s.state.since)
      yield* Metric.increment(tagsOf(Metrics.taskRestarts, s))
    }), { discard: true })

/** Follows `registry` until interrupted. */
export const follow = (registry: TaskRegistry["Type"]) =>
  Effect.gen(function*() {
    const seen = new Map<string, number>()
    const update = record(seen)
    yield* Effect.forkScoped(registry.all.pipe(Effect.flatMap(update), Effect.repeat(Schedule.spaced(RECHECK))))
    return yield* registry.changes.pipe(Stream.runForEach(update))
  }).pipe(Effect.scoped)
