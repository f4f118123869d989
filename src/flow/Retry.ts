/**
 * The retry policies of a flow, in one place. Jitter is applied before the cap so that a capped
 * delay never exceeds the cap (see stack.md §2.5).
 */
import { type Duration, Effect, Schedule } from "effect"
import type { KafkaError } from "../kafka/KafkaError.js"
import * as FailureStreak from "../supervision/FailureStreak.js"

/** exponential from `base`, jittered, each delay capped at `cap` */
export const backoff = (base: Duration.DurationInput, cap: Duration.DurationInput) =>
  Schedule.exponential(base).pipe(
    Schedule.jittered,
    Schedule.union(Schedule.spaced(cap))
  )

/**
 * Retries transient Kafka errors forever (MM2 retries sends without a deadline too), reporting
 * them through `streak` (WARN, ERROR after a minute, INFO on recovery).
 */
export const retryTransientWith = (streak: FailureStreak.FailureStreak) => <A, R>(self: Effect.Effect<A, KafkaError, R>) =>
  self.pipe(
    Effect.tapError((e) => (e.retriable ? streak.failed(e.message) : Effect.void)),
    Effect.retry({ schedule: backoff("200 millis", "10 seconds"), while: (e) => e.retriable }),
    Effect.tap(() => streak.healthy)
  )

/** `retryTransientWith` a streak of its own: for one-off operations such as a topic refresh. */
export const retryTransient = (what: string) => <A, R>(self: Effect.Effect<A, KafkaError, R>) =>
  Effect.flatMap(FailureStreak.make(what), (streak) => retryTransientWith(streak)(self))
