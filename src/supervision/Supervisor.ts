/**
 * One supervision policy for every task of every herder:
 *
 * - every cause is caught: typed failures and defects alike (a defect is a bug: logged at ERROR
 *   with its stack, then treated like a transient failure, so one bug never silently ends a task
 *   nor takes the others with it);
 * - transient failures restart the task with capped, jittered exponential backoff, reset once
 *   the task has been healthy for a while; each restart is logged with its cause, at ERROR once
 *   the task has been failing for a minute, and its recovery once, with how long it took;
 * - a fatal failure stops only this task, said once, naming the task and the reason;
 * - the task's state (TaskState) is kept in the TaskRegistry for other code to read.
 *
 * A task reports health through the `healthy` effect it is given (e.g. once its clusters
 * answered); until then, a `startupDeadline` turns transient failures fatal when it has passed
 * (a cluster that never answers is a configuration problem, not a blip).
 */
import { Cause, Clock, Data, Duration, Effect, Ref, Schedule } from "effect"
import { lasted } from "./FailureStreak.js"
import { TaskRegistry } from "./TaskRegistry.js"
import { type TaskKind, TaskState } from "./TaskState.js"

export interface TaskSpec {
  /** the herder, `source->target` */
  readonly herder: string
  /** the task's name within the herder, e.g. `replication` */
  readonly task: string
  readonly kind: TaskKind
  /** how logs name it, e.g. `flow a->b` or `heartbeats of a->b` */
  readonly label: string
  /** transient failures before the first healthy signal turn fatal after this long; `key` names the setting */
  readonly startupDeadline?: { readonly millis: number; readonly key: string }
}

export interface SupervisionPolicy {
  readonly backoffBase: Duration.DurationInput
  readonly backoffCap: Duration.DurationInput
  /** healthy this long, and the next failure starts from the first backoff step again */
  readonly healthyAfter: Duration.DurationInput
  /** failing this long, and restarts are logged at ERROR */
  readonly escalateAfter: Duration.DurationInput
}

export const DEFAULT_POLICY: SupervisionPolicy = {
  backoffBase: "1 second",
  backoffCap: "60 seconds",
  healthyAfter: "1 minute",
  escalateAfter: "1 minute"
}

/** How a supervised task ended (it never fails: a fatal error is an outcome). */
export interface TaskEnd {
  readonly spec: TaskSpec
  readonly fatal: boolean
  readonly reason: string
}

/** A defect (thrown exception, rejected promise) of a task, caught so the policy can act on it. */
export class TaskDefect extends Data.TaggedError("TaskDefect")<{ readonly cause: Cause.Cause<never> }> {
  override get message(): string {
    const d = [...Cause.defects(this.cause)][0]
    return `defect (a bug): ${d instanceof Error ? `${d.name}: ${d.message}` : String(d)}`
  }
}


interface Progress {
  readonly everHealthy: boolean
  /** since when it has been healthy, if it is */
  readonly runningSince: number | undefined
  readonly restarts: number
  /** start of the current run of failures */
  readonly failingSince: number | undefined
  /** the decision taken for the last failure */
  readonly retry: boolean
  readonly fatalNote: string
}

export const supervise = <E extends { readonly message: string }, R>(
  spec: TaskSpec,
  body: (healthy: Effect.Effect<void>) => Effect.Effect<unknown, E, R>,
  isRetriable: (e: E) => boolean,
  policy: SupervisionPolicy = DEFAULT_POLICY
): Effect.Effect<TaskEnd, never, R | TaskRegistry> =>
  Effect.gen(function*() {
    const registry = yield* TaskRegistry
    const set = (state: TaskState) => registry.update({ herder: spec.herder, task: spec.task, kind: spec.kind, state })
    const startedAt = yield* Clock.currentTimeMillis
    const healthyAfter = Duration.toMillis(policy.healthyAfter)
    const escalateAfter = Duration.toMillis(policy.escalateAfter)
    yield* set(TaskState.Starting({ since: startedAt }))
    const progress = yield* Ref.make<Progress>({
      everHealthy: false,
      runningSince: undefined,
      restarts: 0,
      failingSince: undefined,
      retry: true,
      fatalNote: ""
    })

    // cheap when already running: tasks may call it as often as they like
    const healthy = Effect.flatMap(Ref.get(progress), (p) =>
      p.runningSince !== undefined ? Effect.void : Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        yield* Ref.set(progress, { ...p, everHealthy: true, runningSince: now, failingSince: undefined })
        yield* set(TaskState.Running({ since: now }))
        if (p.failingSince !== undefined) {
          yield* Effect.logInfo(`${spec.label} is running again after ${lasted(now - p.failingSince)} and ${p.restarts} restarts`)
        }
      }))

    const onFailure = (e: E | TaskDefect) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const p = yield* Ref.get(progress)
        const retriable = e instanceof TaskDefect || isRetriable(e)
        const deadline = spec.startupDeadline
        const pastDeadline = !p.everHealthy && deadline !== undefined && now - startedAt >= deadline.millis
        if (!retriable || pastDeadline) {
          const fatalNote = retriable && deadline !== undefined
            ? ` (gave up after ${deadline.key} = ${deadline.millis} ms without reaching a healthy state)`
            : ""
          yield* Ref.set(progress, { ...p, retry: false, fatalNote })
          if (e instanceof TaskDefect) yield* Effect.logError(`${spec.label} failed with a defect`, e.cause)
          return
        }
        // healthy for a while before this failure: a new run of failures, counted from 1
        const fresh = p.runningSince !== undefined && now - p.runningSince >= healthyAfter
        const restarts = fresh ? 1 : p.restarts + 1
        const failingSince = fresh ? now : p.failingSince ?? now
        yield* Ref.set(progress, { ...p, runningSince: undefined, restarts, failingSince, retry: true })
        yield* set(TaskState.Restarting({ since: now, restarts, lastError: e.message }))
        const line = `${spec.label} restarting (restart ${restarts}${
          now - failingSince >= 1_000 ? `, failing for ${lasted(now - failingSince)}` : ""
        }) after: ${e.message}`
        if (e instanceof TaskDefect) yield* Effect.logError(line, e.cause)
        else if (now - failingSince >= escalateAfter) yield* Effect.logError(line)
        else yield* Effect.logWarning(line)
      })

    const schedule = Schedule.exponential(policy.backoffBase).pipe(
      Schedule.jittered,
      Schedule.union(Schedule.spaced(policy.backoffCap)),
      Schedule.resetAfter(policy.healthyAfter)
    )

    return yield* body(healthy).pipe(
      Effect.catchAllDefect((defect) => Effect.fail(new TaskDefect({ cause: Cause.die(defect) }))),
      Effect.tapError(onFailure),
      Effect.retry({ schedule, while: () => Effect.map(Ref.get(progress), (p) => p.retry) }),
      Effect.matchEffect({
        onSuccess: () =>
          Effect.gen(function*() {
            yield* set(TaskState.Stopped({ since: yield* Clock.currentTimeMillis, reason: "done", fatal: false }))
            return { spec, fatal: false, reason: "done" }
          }),
        onFailure: (e) =>
          Effect.gen(function*() {
            const reason = `${e.message}${(yield* Ref.get(progress)).fatalNote}`
            yield* set(TaskState.Stopped({ since: yield* Clock.currentTimeMillis, reason, fatal: true }))
            yield* Effect.logError(`${spec.label} stopped: ${reason}`)
            return { spec, fatal: true, reason }
          })
      }),
      Effect.onInterrupt(() =>
        Effect.flatMap(
          Clock.currentTimeMillis,
          (now) => set(TaskState.Stopped({ since: now, reason: "stopped with the process", fatal: false }))
        )
      )
    )
  }).pipe(Effect.annotateLogs({ herder: spec.herder, task: spec.task }))
