/**
 * The retry policies of a flow, in one place. Jitter is applied before the cap so that a capped
 * delay never exceeds the cap (see stack.md §2.5).
 */
import { Duration, Effect, Schedule } from "effect"
import { KafkaError } from "../kafka/KafkaError.js"

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

/**
 * At start-up a cluster that never answers is a configuration problem, not a blip: retry
 * transient errors for at most `timeout`, then fail with the last error marked fatal.
 */
export const retryAtStartup = <A, R>(what: string, timeout: Duration.DurationInput) =>
(self: Effect.Effect<A, KafkaError, R>) =>
  self.pipe(
    Effect.tapError((e) => e.retriable ? Effect.logDebug(`${what} failed, retrying: ${e.message}`) : Effect.void),
    Effect.retry({
      schedule: backoff("200 millis", "5 seconds").pipe(Schedule.upTo(timeout)),
      while: (e) => e.retriable
    }),
    Effect.mapError((e) =>
      e.retriable
        ? new KafkaError({
          cluster: e.cluster,
          operation: e.operation,
          reason: e.reason,
          retriable: false,
          detail: `${e.detail} (gave up after ${Duration.format(Duration.decode(timeout))}, admin.timeout.ms)`,
          ...(e.topic !== undefined ? { topic: e.topic } : {}),
          cause: e.cause
        })
        : e
    )
  )
