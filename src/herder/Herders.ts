/**
 * Runs a herder for every pair MM2 runs one for (replication flows and heartbeat-only pairs),
 * each herder running its enabled tasks, each task supervised on its own (Supervisor.ts): a task
 * that fails restarts or stops alone. The whole ends, failing with FlowsFailed, only once every
 * replication task has stopped on a fatal error; metadata tasks never end the process.
 */
import { Data, Deferred, Effect, FiberSet, Ref } from "effect"
import type { HerderSettings } from "../config/Mm2Config.js"
import { ReplicationLog } from "../flow/ReplicationLog.js"
import { supervise, type TaskEnd, type TaskSpec } from "../supervision/Supervisor.js"
import { TaskNotes } from "../supervision/TaskNotes.js"
import { TaskRegistry } from "../supervision/TaskRegistry.js"
import { type HerderTask, isRetriable } from "./HerderTask.js"
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
 * Runs until interrupted, or fails once every replication task has stopped fatally.
 * `onStopped` hears of each replication task that stops fatally, as it happens.
 */
export const runHerders = (
  herders: ReadonlyArray<HerderSettings>,
  onStopped: (failure: FlowFailure) => Effect.Effect<void> = () => Effect.void
) =>
  Effect.gen(function*() {
    const enabled = (h: HerderSettings) => TASKS.filter((t) => t.enabled(h))
    const replicationTasks = herders.flatMap(enabled).filter((t) => t.kind === "replication").length
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
    // one set for every task: at shutdown they are all stopped at once, not one after another
    const running = yield* FiberSet.make<void>()
    for (const h of herders) {
      // one log per herder, shared by its tasks and outliving restarts of any of them
      const log = yield* ReplicationLog.make
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
        yield* supervise(
          spec,
          (healthy) => task.run(h, healthy).pipe(Effect.provideService(ReplicationLog, log), Effect.provideService(TaskNotes, notes)),
          isRetriable
        ).pipe(
          Effect.flatMap(stopped(h, task)),
          FiberSet.run(running)
        )
      }
    }
    if (replicationTasks === 0) return yield* Effect.never
    yield* Deferred.await(allStopped)
    return yield* new FlowsFailed({ failures: yield* Ref.get(failures) })
  }).pipe(Effect.scoped)
