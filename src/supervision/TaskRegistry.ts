/**
 * Where every supervised task's current state lives, readable by other code (status output,
 * tests, an embedding host) as a snapshot or a stream of changes.
 */
import { Context, Effect, Layer, Stream, SubscriptionRef } from "effect"
import { type LostRange, MAX_LOST_RANGES, type TaskStatus } from "./TaskState.js"

const idOf = (s: Pick<TaskStatus, "herder" | "task">): string => `${s.herder}\u0000${s.task}`

export class TaskRegistry extends Context.Tag("effect-mm2/TaskRegistry")<TaskRegistry, {
  /** a task's new state (its lostRanges are kept) */
  readonly update: (status: TaskStatus) => Effect.Effect<void>
  /** notes records a task never replicated (see TaskStatus.lostRanges); a task not seen yet is ignored */
  readonly addLostRange: (task: Pick<TaskStatus, "herder" | "task">, range: LostRange) => Effect.Effect<void>
  /** every task's latest status, in the order tasks first reported */
  readonly all: Effect.Effect<ReadonlyArray<TaskStatus>>
  readonly changes: Stream.Stream<ReadonlyArray<TaskStatus>>
}>() {
  static readonly make = Effect.map(SubscriptionRef.make<ReadonlyMap<string, TaskStatus>>(new Map()), (ref) =>
    TaskRegistry.of({
      update: (status) =>
        SubscriptionRef.update(ref, (m) => {
          const lostRanges = m.get(idOf(status))?.lostRanges
          return new Map(m).set(idOf(status), lostRanges === undefined ? status : { ...status, lostRanges })
        }),
      addLostRange: (task, range) =>
        SubscriptionRef.update(ref, (m) => {
          const current = m.get(idOf(task))
          if (current === undefined) return m
          const lostRanges = [...(current.lostRanges ?? []), range].slice(-MAX_LOST_RANGES)
          return new Map(m).set(idOf(task), { ...current, lostRanges })
        }),
      all: Effect.map(SubscriptionRef.get(ref), (m) => [...m.values()]),
      changes: Stream.map(ref.changes, (m) => [...m.values()])
    }))

  static readonly layer = Layer.effect(TaskRegistry, TaskRegistry.make)
}
