/**
 * The shape of MM2's scheduled connector jobs (config sync, ACL sync): run at start, then every
 * interval; the task is healthy after each round that succeeded.
 */
import { Duration, Effect } from "effect"

/** `round` now and then every `seconds` (at least a tenth of a second apart: 0 would spin). */
export const everyInterval = <E, R>(round: Effect.Effect<void, E, R>, healthy: Effect.Effect<void>, seconds: number) =>
  Effect.zipRight(round, healthy).pipe(
    Effect.zipRight(Effect.sleep(Duration.millis(Math.max(seconds * 1_000, 100)))),
    Effect.forever
  )
