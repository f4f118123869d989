/**
 * Runs a herder for every pair MM2 runs one for (replication flows and heartbeat-only pairs),
 * each herder running its enabled tasks, each task supervised on its own (Supervisor.ts): a task
 * that fails restarts or stops alone. The whole ends, failing with FlowsFailed, only once every
 * replication task has stopped on a fatal error; metadata tasks never end the process.
 */
import { Clock, Data, Deferred, Effect, FiberSet, Ref, type Scope } from "effect"
import type { HerderSettings } from "../config/Mm2Config.js"
import { ReplicationLog } from "../flow/ReplicationLog.js"
import { lasted } from "../supervision/FailureStreak.js"
import { supervise, type TaskEnd, type TaskSpec } from "../supervision/Supervisor.js"
import { TaskNotes } from "../supervision/TaskNotes.js"
import { TaskRegistry } from "../supervision/TaskRegistry.js"
import * as TaskMetrics from "../telemetry/TaskMetrics.js"
import { type HerderTask, isRetriable } from "./HerderTask.js"
import { Leadership, whileLeading } from "./Leadership.js"
import { TASKS } from "./Tasks.js"

/** A replication task that stopped for good on a fatal error (the others may still run). */
export interface FlowFailure {
  readonly flow: string
  readonly message: string
}

export class FlowsFailed extends Data.TaggedError("FlowsFailed")<{
  readonly failures: ReadonlyArray<FlowFailure>
}> {
  override get message(): string {
    return this.failures.map((f) => `flow ${f.flow} stopped: ${f.message}`).join("\n")
  }
}

/**
 * MM2's shutdown lines for what the current scope runs: adds the "stopped" line (logged last,
 * with how long the stop took) and returns what adds the "stopping" line; call that once the
 * running fibers are in place, so that it runs before their finalizers, when the stop begins.
 */
export const stopLines: Effect.Effect<
  (reason: Effect.Effect<string>) => Effect.Effect<void, never, Scope.Scope>,
  never,
  Scope.Scope
> = Effect.gen(function*() {
  const stoppingAt = yield* Ref.make<number | undefined>(undefined)
  yield* Effect.addFinalizer(() =>
    Effect.flatMap(Ref.get(stoppingAt), (since) =>
      since === undefined ? Effect.void : Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.logInfo(`Kafka MirrorMaker stopped (took ${lasted(now - since)})`))
    )
  )
  return (reason) =>
    Effect.addFinalizer(() =>
      Effect.gen(function*() {
        yield* Ref.set(stoppingAt, yield* Clock.currentTimeMillis)
        const why = yield* reason
        yield* Effect.logInfo(`Kafka MirrorMaker stopping${why.length > 0 ? `: ${why}` : ""}`)
      })
    )
})

/**
 * Runs until interrupted, or fails once every replication task has stopped fatally.
 * `onStopped` hears of each replication task that stops fatally, as it happens. With
 * `lifecycle`, logs MM2's process-wide lines (started, stopping, stopped): not when a caller
 * runs herders one by one and speaks for the whole itself.
 */
export const runHerders = (
  herders: ReadonlyArray<HerderSettings>,
  onStopped: (failure: FlowFailure) => Effect.Effect<void> = () => Effect.void,
  options: {
    readonly lifecycle?: boolean
    /**
     * Keep running once every replication task stopped fatally (the metadata tasks go on; the
     * caller hears of the failures through `onStopped`): for an embedding host, whose process
     * outlives one herder's replication.
     */
    readonly untilInterrupted?: boolean
  } = {}
) =>
  Effect.gen(function*() {
    const enabled = (h: HerderSettings) => TASKS.filter((t) => t.enabled(h))
    const replicationTasks = herders.flatMap(enabled).filter((t) => t.kind === "replication").length
    const lifecycle = options.lifecycle === true
    const startedAt = yield* Clock.currentTimeMillis
    // the first finalizer runs last: once every task has stopped and committed
    const stopping = lifecycle ? yield* stopLines : () => Effect.void
    const taskCount = herders.flatMap(enabled).length
    const startedTasks = yield* Ref.make(0)
    const allStarted = yield* Deferred.make<void>()
    /** Logs a task's first healthy moment (not again after restarts: the supervisor does). */
    const firstHealthy = (spec: TaskSpec) =>
      Effect.gen(function*() {
        const once = yield* Ref.make(false)
        return Effect.flatMap(Ref.getAndSet(once, true), (already) =>
          already ? Effect.void : Effect.gen(function*() {
            const took = `${spec.label} started (took ${lasted((yield* Clock.currentTimeMillis) - startedAt)})`
            yield* spec.kind === "replication" ? Effect.logInfo(took) : Effect.logDebug(took)
            const n = yield* Ref.updateAndGet(startedTasks, (k) => k + 1)
            if (n === taskCount) yield* Deferred.succeed(allStarted, undefined)
          }))
      })
    // logged from a fiber of its own: from a task's fiber it would carry that task's annotations
    if (lifecycle) {
      yield* Deferred.await(allStarted).pipe(
        Effect.zipRight(Clock.currentTimeMillis),
        Effect.flatMap((now) =>
          Effect.logInfo(`Kafka MirrorMaker started: ${taskCount} tasks of ${herders.length} herders running (took ${lasted(now - startedAt)})`)
        ),
        Effect.forkScoped
      )
    }
    const failures = yield* Ref.make<ReadonlyArray<FlowFailure>>([])
    const allStopped = yield* Deferred.make<void>()
    const stopped = (h: HerderSettings, task: HerderTask) => (end: TaskEnd) => {
      if (!end.fatal || task.kind !== "replication") return Effect.void
      const failure = { flow: h.settings.name, message: end.reason }
      return Ref.updateAndGet(failures, (fs) => [...fs, failure]).pipe(
        Effect.tap(() => onStopped(failure)),
        Effect.flatMap((fs) => (fs.length === replicationTasks ? Deferred.succeed(allStopped, undefined) : Effect.void))
      )
    }
    const registry = yield* TaskRegistry
    // task-state and task-restarts, for as long as the herders run
    yield* Effect.forkScoped(TaskMetrics.follow(registry))
    // one set for every task: at shutdown they are all stopped at once, not one after another
    const running = yield* FiberSet.make<void>()
    for (const h of herders) {
      // one log per herder, shared by its tasks and outliving restarts of any of them
      const log = yield* ReplicationLog.make
      // one election per herder, shared by its tasks (see Leadership.ts)
      const leadership = yield* Leadership.make
      for (const task of enabled(h)) {
        const deadline = task.startupDeadline?.(h)
        const spec: TaskSpec = {
          herder: h.settings.name,
          task: task.name,
          kind: task.kind,
          label: task.label(h),
          ...(deadline !== undefined ? { startupDeadline: deadline } : {})
        }
        const notes = TaskNotes.of({ lostRange: (range) => registry.addLostRange(spec, range) })
        const started = yield* firstHealthy(spec)
        yield* supervise(
          spec,
          (healthy) => {
            const ready = Effect.zipRight(healthy, started)
            // a once-per-flow duty standing by is healthy: it runs where it should, elsewhere
            const run = task.once === true ? whileLeading(task.run(h, ready), ready) : task.run(h, ready)
            return run.pipe(
              Effect.provideService(ReplicationLog, log),
              Effect.provideService(TaskNotes, notes),
              Effect.provideService(Leadership, leadership)
            )
          },
          isRetriable
        ).pipe(
          Effect.flatMap(stopped(h, task)),
          FiberSet.run(running)
        )
      }
    }
    // the last finalizer runs first: before the tasks are stopped
    yield* stopping(Effect.map(Deferred.isDone(allStopped), (all) => (all ? "every replication flow stopped" : "")))
    if (replicationTasks === 0 || options.untilInterrupted === true) return yield* Effect.never
    yield* Deferred.await(allStopped)
    return yield* new FlowsFailed({ failures: yield* Ref.get(failures) })
  }).pipe(Effect.scoped)
