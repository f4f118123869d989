/**
 * A wait with a time limit that also works inside finalizers. Finalizers run uninterruptibly,
 * and there a timeout could never interrupt what it times out: the wait would go on. Running
 * it interruptibly in a child fiber lets the limit hold.
 */
import { type Duration, Effect, Fiber, type Option } from "effect"

/** `self`, or None if it did not finish within `limit` (then it was interrupted). */
export const bounded = <A, E, R>(self: Effect.Effect<A, E, R>, limit: Duration.DurationInput): Effect.Effect<Option.Option<A>, E, R> =>
  self.pipe(Effect.timeout(limit), Effect.asSome, Effect.catchTag("TimeoutException", () => Effect.succeedNone), Effect.interruptible, Effect.fork, Effect.flatMap(Fiber.join))
