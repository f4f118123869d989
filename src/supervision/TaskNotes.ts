/**
 * What a running task reports beyond its state, into its TaskStatus (today: source records it
 * never replicated). The herder provides it to each task it runs; code run outside a herder (a
 * flow in a unit test, an embedding that runs Flow.run itself) gets the no-op default.
 */
import { Context, Effect } from "effect"
import type { LostRange } from "./TaskState.js"

export class TaskNotes extends Context.Reference<TaskNotes>()("effect-mm2/TaskNotes", {
  defaultValue: () => ({
    lostRange: (_range: LostRange): Effect.Effect<void> => Effect.void
  })
}) {}
