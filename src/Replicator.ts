/**
 * A replicator running in the background of a host program (`Mm2.layer`). A background fiber
 * cannot fail the host's layer after it was built, so its fate is a value the host awaits or
 * inspects: a fatal stop never goes unnoticed. The host can also wait until replication is
 * ready and stop one flow while the others run on.
 */
import { Context, Data, type Effect, type Stream } from "effect"
import type { FlowFailure, FlowsFailed } from "./herder/Herders.js"
import type { TaskStatus } from "./supervision/TaskState.js"

/** `stopFlow` was given a name that is not one of `Replicator.flows`. */
export class NoSuchFlow extends Data.TaggedError("NoSuchFlow")<{
  readonly flow: string
  readonly flows: ReadonlyArray<string>
}> {
  override get message(): string {
    return `no flow ${this.flow} in this replicator (flows: ${this.flows.join(", ") || "none"})`
  }
}

export class Replicator extends Context.Tag("effect-mm2/Replicator")<Replicator, {
  /** every herder's name, `source->target`: replication flows and heartbeat-only pairs */
  readonly flows: ReadonlyArray<string>
  /**
   * Waits while replication runs. Fails with FlowsFailed once every replication task has ended
   * and at least one stopped on a fatal error (other duties, such as heartbeats, never end it);
   * succeeds once every flow with replication was stopped by `stopFlow`. Interrupted when the
   * layer's scope closes.
   */
  readonly await: Effect.Effect<void, FlowsFailed>
  /**
   * Succeeds once replication is ready: every enabled replication task was Running and caught up,
   * i.e. its progress (the committed position of `effect-mm2.<source>-><target>` on the source)
   * reached, on every partition of the topics it replicates, the end offset that partition had
   * when the task first ran. Once ready it stays so. Fails with FlowsFailed if a replication task
   * stops on a fatal error before; a flow stopped by `stopFlow` is no longer waited for.
   */
  readonly awaitReady: Effect.Effect<void, FlowsFailed>
  /**
   * Stops every task of one herder (`source->target`) as a scope close would (what the target
   * acknowledged is committed), and waits until they stopped; the other flows run on. Their
   * state becomes Stopped (not fatal). Stopping a stopped flow does nothing.
   */
  readonly stopFlow: (flow: string) => Effect.Effect<void, NoSuchFlow>
  /** Flows whose replication stopped on a fatal error so far, while others may still run. */
  readonly stoppedFlows: Effect.Effect<ReadonlyArray<FlowFailure>>
  /** Every task of every herder with its state (starting, running, restarting, stopped). */
  readonly tasks: Effect.Effect<ReadonlyArray<TaskStatus>>
  /** `tasks` now, then again at every change of any task's state */
  readonly taskChanges: Stream.Stream<ReadonlyArray<TaskStatus>>
}>() {}
