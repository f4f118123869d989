import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, LogLevel, TestClock } from "effect"
import * as FailureStreak from "../../../src/supervision/FailureStreak.js"

/** Runs `body` with a logger that keeps `LEVEL message` lines. */
const captured = <A, E>(body: (lines: Array<string>) => Effect.Effect<A, E>) => {
  const lines: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
  })
  return body(lines).pipe(
    Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
    Logger.withMinimumLogLevel(LogLevel.Debug)
  )
}

describe("FailureStreak", () => {
  it.effect("warns with the cause, escalates to ERROR after a minute, and reports the recovery once", () =>
    captured((lines) =>
      Effect.gen(function*() {
        const streak = yield* FailureStreak.make("reading from cluster 'primary'")
        yield* streak.healthy // nothing to report yet
        yield* streak.failed("codec error")
        yield* TestClock.adjust("30 seconds")
        yield* streak.failed("codec error")
        yield* TestClock.adjust("31 seconds")
        yield* streak.failed("codec error")
        yield* TestClock.adjust("4 seconds")
        yield* streak.healthy
        yield* streak.healthy
        expect(lines).toEqual([
          "WARN reading from cluster 'primary' failed, retrying: codec error",
          "WARN reading from cluster 'primary' failed (2 times in a row, for 30s), retrying: codec error",
          "ERROR reading from cluster 'primary' has been failing for 1m 1s (3 attempts), still retrying: codec error",
          "INFO reading from cluster 'primary' works again after 1m 5s and 3 failed attempts"
        ])
      })
    ))

  it.effect("a new run after a recovery starts at WARN again", () =>
    captured((lines) =>
      Effect.gen(function*() {
        const streak = yield* FailureStreak.make("writing to cluster 'backup'")
        yield* streak.failed("timeout")
        yield* TestClock.adjust("2 minutes")
        yield* streak.healthy
        yield* streak.failed("timeout")
        expect(lines.at(-1)).toBe("WARN writing to cluster 'backup' failed, retrying: timeout")
      })
    ))
})
