import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Logger, LogLevel } from "effect"
import * as Logging from "../../../src/telemetry/Logging.js"

const AT = new Date("2026-12-02T01:23:45.678Z")

/** Logs `self` through our logger at a fixed date; returns what went to each stream. */
const capture = (format: Logging.LogFormat, self: Effect.Effect<void>) =>
  Effect.gen(function*() {
    const out: Array<string> = []
    const err: Array<string> = []
    const logger = Logging.make(format, { out: (l) => out.push(l), err: (l) => err.push(l) })
    // fixed clock: the date the logger gets is the one we pass on
    const fixed = Logger.mapInputOptions(logger, (o: Logger.Logger.Options<unknown>) => ({ ...o, date: AT }))
    yield* self.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, fixed)), Logger.withMinimumLogLevel(LogLevel.Debug))
    return { out, err }
  })

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /

describe("log lines", () => {
  it.effect("text: one line with date, time, zone, level, origin and annotations", () =>
    Effect.gen(function*() {
      const { out, err } = yield* capture(
        "text",
        Effect.logInfo("Created remote topic primary.orders with 3 partitions.").pipe(
          Effect.annotateLogs({ herder: "primary->backup", task: "replication", topic: "orders", note: "two words" })
        )
      )
      expect(out).toEqual([
        '2026-12-02T01:23:45.678Z INFO  [primary->backup replication] Created remote topic primary.orders with 3 partitions. note="two words" topic=orders'
      ])
      expect(err).toEqual([])
    }))

  it.effect("text: without annotations, no origin; spans and several message parts on the line", () =>
    Effect.gen(function*() {
      const { out } = yield* capture("text", Effect.logDebug("a", 1, { b: 2 }))
      expect(out).toEqual(['2026-12-02T01:23:45.678Z DEBUG a 1 {"b":2}'])
      const spanned = yield* capture("text", Effect.logWarning("slow").pipe(Effect.withLogSpan("round")))
      expect(spanned.out[0]).toMatch(/^2026-12-02T01:23:45\.678Z WARN  slow round=-?\d+ms$/)
    }))

  it.effect("text: ERROR goes to stderr; a cause and a multi-line message keep the head on every line", () =>
    Effect.gen(function*() {
      const { out, err } = yield* capture(
        "text",
        Effect.logError("flow a->b failed with a defect\nsecond line", Cause.die(new Error("boom"))).pipe(
          Effect.annotateLogs({ herder: "a->b", task: "replication" })
        )
      )
      expect(out).toEqual([])
      expect(err[0]).toBe("2026-12-02T01:23:45.678Z ERROR [a->b replication] flow a->b failed with a defect")
      expect(err[1]).toBe("2026-12-02T01:23:45.678Z ERROR [a->b replication] | second line")
      expect(err.some((l) => l.includes("| Error: boom"))).toBe(true)
      // a stack trace, each frame on a line of its own that still says when, what and where
      expect(err.filter((l) => /\|\s+at /.test(l)).length).toBeGreaterThan(0)
      for (const l of err) expect(l).toMatch(/^2026-12-02T01:23:45\.678Z ERROR \[a->b replication\] /)
      const fatal = yield* capture("text", Effect.logFatal("gone"))
      expect(fatal.err).toEqual(["2026-12-02T01:23:45.678Z FATAL gone"])
      const warn = yield* capture("text", Effect.logWarning("w"))
      expect(warn).toEqual({ out: ["2026-12-02T01:23:45.678Z WARN  w"], err: [] })
    }))

  it.effect("json: one object per entry with timestamp, level, message, annotations, fiber and cause", () =>
    Effect.gen(function*() {
      const { out, err } = yield* capture(
        "json",
        Effect.logInfo("line one\nline two").pipe(Effect.annotateLogs({ herder: "a->b", task: "checkpoints", n: 3 }))
      )
      expect(out).toHaveLength(1)
      const entry = JSON.parse(out[0]!)
      expect(entry).toMatchObject({
        timestamp: "2026-12-02T01:23:45.678Z",
        level: "INFO",
        message: "line one\nline two",
        annotations: { herder: "a->b", task: "checkpoints", n: 3 }
      })
      expect(entry.fiber).toMatch(/^#\d+$/)
      expect(entry).not.toHaveProperty("cause")
      expect(err).toEqual([])
      const failed = yield* capture("json", Effect.logError("stopped", Cause.fail(new Error("no leader"))))
      expect(failed.out).toEqual([])
      expect(failed.err).toHaveLength(1)
      const e = JSON.parse(failed.err[0]!)
      expect(e.level).toBe("ERROR")
      expect(e.annotations).toEqual({})
      expect(e.cause).toContain("no leader")
    }))

  it.effect("the layer replaces Effect's default and pretty loggers", () =>
    Effect.gen(function*() {
      const out: Array<string> = []
      const sink = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) }
      yield* Effect.logInfo("hello").pipe(
        Effect.provide(Logging.layer("text", sink)),
        Effect.provide(Logger.add(Logger.prettyLoggerDefault))
      )
      expect(out).toHaveLength(1)
      expect(out[0]).toMatch(ISO)
      expect(out[0]).toMatch(/ INFO  hello$/)
    }))
})
