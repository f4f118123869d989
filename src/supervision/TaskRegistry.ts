/**
 * Where every supervised task's current state lives, readable by other code (status output,
 * tests, an embedding host) as a snapshot or a stream of changes.
 */
import { Context, Effect, Layer, Stream, SubscriptionRef } from "effect"
import type { TaskStatus } from "./TaskState.js"

const idOf = (s: Pick<TaskStatus, "herder" | "task">): string => `${s.herder}\u0000${s.task}`

export class TaskRegistry extends Context.Tag("effect-mm2/TaskRegistry")<TaskRegistry, {
  readonly update: (status: TaskStatus) => Effect.Effect<void>
  /** every task's latest status, in the order tasks first reported */
  readonly all: Effect.Effect<ReadonlyArray<TaskStatus>>
  readonly changes: Stream.Stream<ReadonlyArray<TaskStatus>>
}>() {
  static readonly make = Effect.map(SubscriptionRef.make<ReadonlyMap<string, TaskStatus>>(new Map()), (ref) =>
    TaskRegistry.of({
      update: (status) => SubscriptionRef.update(ref, (m) => new Map(m).set(idOf(status), status)),
      all: Effect.map(SubscriptionRef.get(ref), (m) => [...m.values()]),
      changes: Stream.map(ref.changes, (m) => [...m.values()])
    }))

  static readonly layer = Layer.effect(TaskRegistry, TaskRegistry.make)
}
