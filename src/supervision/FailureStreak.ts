/**
 * A run of consecutive failures of one retried activity (reading from a cluster, writing to
 * one, refreshing topics), made visible to operators: every failure at WARN with its cause,
 * at ERROR once the run has lasted `escalateAfter` (a minute), and one INFO line when the
 * activity works again, saying how long it was down. Without this a retry loop can spin
 * silently forever (a codec that fails every fetch looked exactly like a quiet topic).
 */
import { Clock, Duration, Effect, Ref } from "effect"

/** How long a failure may repeat before it is reported at ERROR. */
export const ESCALATE_AFTER = Duration.minutes(1)

export interface FailureStreak {
  /** one more failure of the activity, with its cause as an operator should read it */
  readonly failed: (cause: string) => Effect.Effect<void>
  /** the activity worked: ends the run (cheap when there is none, so callers may call it often) */
  readonly healthy: Effect.Effect<void>
}

interface Run {
  readonly since: number
  readonly failures: number
}

/** An elapsed time as a log line reads it: whole milliseconds below a second, else whole seconds. */
export const lasted = (millis: number): string =>
  Duration.format(millis < 1_000 ? Duration.millis(Math.round(millis)) : Duration.seconds(Math.round(millis / 1_000)))

/** `what` completes "<what> failed", e.g. "reading from cluster 'primary'". */
export const make = (
  what: string,
  escalateAfter: Duration.DurationInput = ESCALATE_AFTER
): Effect.Effect<FailureStreak> =>
  Effect.map(Ref.make<Run | undefined>(undefined), (state) => {
    const limit = Duration.toMillis(escalateAfter)
    const failed = (cause: string) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const run = yield* Ref.modify(state, (r): [Run, Run] => {
          const next = { since: r?.since ?? now, failures: (r?.failures ?? 0) + 1 }
          return [next, next]
        })
        const elapsed = now - run.since
        if (elapsed >= limit) {
          yield* Effect.logError(
            `${what} has been failing for ${lasted(elapsed)} (${run.failures} attempts), still retrying: ${cause}`
          )
        } else {
          yield* Effect.logWarning(
            `${what} failed${run.failures > 1 ? ` (${run.failures} times in a row, for ${lasted(elapsed)})` : ""}, retrying: ${cause}`
          )
        }
      })
    const healthy = Effect.flatMap(Ref.get(state), (run) =>
      run === undefined ? Effect.void : Effect.gen(function*() {
        yield* Ref.set(state, undefined)
        const now = yield* Clock.currentTimeMillis
        yield* Effect.logInfo(`${what} works again after ${lasted(now - run.since)} and ${run.failures} failed attempts`)
      }))
    return { failed, healthy }
  })
