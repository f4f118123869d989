/**
 * A replicator running in the background of a host program (`Mm2.layer`). A background fiber
 * cannot fail the host's layer after it was built, so its fate is a value the host awaits or
 * inspects: a fatal stop never goes unnoticed.
 */
import { Context, type Effect, type Stream } from "effect"
import type { FlowFailure, FlowsFailed } from "./herder/Herders.js"
import type { TaskStatus } from "./supervision/TaskState.js"

export class Replicator extends Context.Tag("effect-mm2/Replicator")<Replicator, {
  /**
   * Waits while replication runs. Fails with FlowsFailed once every replication task has stopped
   * on a fatal error (other duties, such as heartbeats, never end it), and succeeds only if it
   * ended with nothing left to run. Interrupted when the layer's scope closes.
   */
  readonly await: Effect.Effect<void, FlowsFailed>
  /** Flows whose replication stopped on a fatal error so far, while others may still run. */
  readonly stoppedFlows: Effect.Effect<ReadonlyArray<FlowFailure>>
  /** Every task of every herder with its state (starting, running, restarting, stopped). */
  readonly tasks: Effect.Effect<ReadonlyArray<TaskStatus>>
  readonly taskChanges: Stream.Stream<ReadonlyArray<TaskStatus>>
}>() {}
