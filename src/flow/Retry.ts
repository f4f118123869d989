/**
 * The retry policies of a flow, in one place. Jitter is applied before the cap so that a capped
 * delay never exceeds the cap (see stack.md §2.5).
 */
import { Duration, Effect, Schedule } from "effect"
import type { KafkaError } from "../kafka/KafkaError.js"

/** exponential from `base`, jittered, each delay capped at `cap` */
export const backoff = (base: Duration.DurationInput, cap: Duration.DurationInput) =>
  Schedule.exponential(base).pipe(
    Schedule.jittered,
    Schedule.union(Schedule.spaced(cap))
  )

/** Retries transient Kafka errors forever (MM2 retries sends without a deadline too), logging each. */
export const retryTransient = <A, R>(what: string) => (self: Effect.Effect<A, KafkaError, R>) =>
  self.pipe(
    Effect.tapError((e) =>
      e.retriable ? Effect.logWarning(`${what} failed, retrying: ${e.message}`) : Effect.void
    ),
    Effect.retry({ schedule: backoff("200 millis", "10 seconds"), while: (e) => e.retriable })
  )
