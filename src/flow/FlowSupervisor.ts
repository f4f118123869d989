/**
 * Runs every enabled flow as its own supervised fiber. Transient failures restart the failing
 * flow with backoff; a fatal one (bad credentials, invalid settings, an unreachable cluster at
 * start, a record the target refuses) stops that flow with one error line, and the others go on.
 */
import { Clock, Data, Effect, FiberMap, Ref } from "effect"
import type { FlowSettings } from "../config/Mm2Config.js"
import type { KafkaError } from "../kafka/KafkaError.js"
import * as FailureStreak from "./FailureStreak.js"
import * as Flow from "./Flow.js"
import type { FlowConfigError } from "./FlowContext.js"
import { backoff } from "./Retry.js"

/** A flow that stopped for good on a fatal error (the others may still run). */
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

const isRetriable = (e: KafkaError | FlowConfigError): e is KafkaError => e._tag === "KafkaError" && e.retriable

/**
 * One flow, restarted on transient failure; fails only with a fatal error. Until the flow has
 * started once (its clients connected, its topics in place), transient errors are retried only
 * for `admin.timeout.ms`: a cluster that never answers is a configuration problem, reported by name.
 */
export const superviseFlow = (settings: FlowSettings) =>
  Effect.gen(function*() {
    const started = yield* Ref.make(false)
    const streak = yield* FailureStreak.make(`flow ${settings.name}`)
    const deadline = (yield* Clock.currentTimeMillis) + settings.adminTimeoutMs
    const keepTrying = (e: KafkaError | FlowConfigError) =>
      isRetriable(e)
        ? Effect.zipWith(Ref.get(started), Clock.currentTimeMillis, (ok, now) => ok || now < deadline)
        : Effect.succeed(false)
    return yield* Flow.run(Effect.zipRight(Ref.set(started, true), streak.healthy)).pipe(
      Effect.provide(Flow.layer(settings)),
      Effect.tapError((e) => (isRetriable(e) ? streak.failed(e.message) : Effect.void)),
      Effect.retry({ schedule: backoff("1 second", "60 seconds"), while: keepTrying }),
      Effect.catchIf(isRetriable, (e) => Effect.fail(e.asFatal(`gave up after admin.timeout.ms = ${settings.adminTimeoutMs} ms`)))
    )
  }).pipe(
    Effect.annotateLogs("flow", settings.name),
    Effect.withSpan("mm2.flow", { attributes: { flow: settings.name } })
  )

/**
 * Runs all flows until interrupted. Fails with FlowsFailed once every flow has stopped on a
 * fatal error (while at least one flow runs, the process keeps serving it). `onStopped` hears of
 * each flow that stops fatally as it happens.
 */
export const runFlows = (
  flows: ReadonlyArray<FlowSettings>,
  onStopped: (failure: FlowFailure) => Effect.Effect<void> = () => Effect.void
) =>
  Effect.gen(function*() {
    const fibers = yield* FiberMap.make<string, void, never>()
    const failures = yield* Ref.make<Array<FlowFailure>>([])
    for (const settings of flows) {
      yield* FiberMap.run(
        fibers,
        settings.name,
        superviseFlow(settings).pipe(
          Effect.catchAll((e) => {
            const failure = { flow: settings.name, message: e.message }
            return Effect.logError(`flow ${settings.name} stopped: ${e.message}`).pipe(
              Effect.zipRight(Ref.update(failures, (fs) => [...fs, failure])),
              Effect.zipRight(onStopped(failure))
            )
          }),
          Effect.asVoid
        )
      )
    }
    yield* FiberMap.awaitEmpty(fibers)
    const failed = yield* Ref.get(failures)
    if (failed.length > 0) return yield* new FlowsFailed({ failures: failed })
  }).pipe(Effect.scoped)
