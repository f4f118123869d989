/**
 * `supervise` alone: synthetic task bodies on the TestClock, no Kafka.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Data, Effect, Fiber, Logger, LogLevel, Option, Ref, TestClock } from "effect"
import { type SupervisionPolicy, supervise, type TaskSpec } from "../../../src/supervision/Supervisor.js"
import { TaskRegistry } from "../../../src/supervision/TaskRegistry.js"
import type { TaskState } from "../../../src/supervision/TaskState.js"

class Boom extends Data.TaggedError("Boom")<{ readonly message: string; readonly retriable: boolean }> {}

const isRetriable = (e: Boom) => e.retriable
const transient = (message = "broker away") => Effect.fail(new Boom({ message, retriable: true }))

const POLICY: SupervisionPolicy = {
  backoffBase: "1 second",
  backoffCap: "30 seconds",
  healthyAfter: "10 seconds",
  escalateAfter: "1 minute"
}

const spec = (task: string, extra: Partial<TaskSpec> = {}): TaskSpec => ({
  herder: "a->b",
  task,
  kind: "metadata",
  label: `${task} of a->b`,
  ...extra
})

type Run = (healthy: Effect.Effect<void>) => Effect.Effect<unknown, Boom>

/** A body that plays `runs` in order, one per (re)start, repeating the last; records when each run started. */
const scripted = (runs: ReadonlyArray<Run>) =>
  Effect.map(Ref.make<ReadonlyArray<number>>([]), (starts) => ({
    starts: Ref.get(starts),
    body: (healthy: Effect.Effect<void>) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.flatMap(Ref.modify(starts, (s) => [s.length, [...s, now]]), (i) => runs[Math.min(i, runs.length - 1)]!(healthy)))
  }))

const stateOf = (task: string) =>
  Effect.flatMap(TaskRegistry, (r) =>
    Effect.map(r.all, (all): TaskState | undefined => all.find((s) => s.task === task)?.state))

const running = <A, E>(fiber: Fiber.Fiber<A, E>) => Effect.map(Fiber.poll(fiber), Option.isNone)

/** Runs `body` with a TaskRegistry and a logger that keeps `LEVEL message` lines. */
const withLogs = <A, E>(body: (lines: Array<string>) => Effect.Effect<A, E, TaskRegistry>) => {
  const lines: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
  })
  return body(lines).pipe(
    Effect.provideServiceEffect(TaskRegistry, TaskRegistry.make),
    Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
    Logger.withMinimumLogLevel(LogLevel.Debug)
  )
}

describe("supervise", () => {
  it.effect("a defect is logged at ERROR naming the task, restarts it, and leaves the other tasks alone", () =>
    withLogs((lines) =>
      Effect.gen(function*() {
        const buggy = yield* scripted([
          () => Effect.sync(() => {
            throw new TypeError("x is not a function")
          }),
          () => Effect.die(new RangeError("out of range")),
          (healthy) => Effect.zipRight(healthy, Effect.never)
        ])
        const other = yield* scripted([(healthy) => Effect.zipRight(healthy, Effect.never)])
        const buggyFiber = yield* Effect.fork(supervise(spec("buggy"), buggy.body, isRetriable, POLICY))
        const otherFiber = yield* Effect.fork(supervise(spec("other"), other.body, isRetriable, POLICY))
        yield* TestClock.adjust("10 seconds")

        expect((yield* buggy.starts).length).toBe(3)
        const errors = lines.filter((l) => l.startsWith("ERROR"))
        expect(errors).toHaveLength(2)
        expect(errors[0]).toBe("ERROR buggy of a->b restarting (restart 1) after: defect (a bug): TypeError: x is not a function")
        // the jittered first delay (0.8-1.2 s) decides whether "failing for 1s" is said
        expect(errors[1]).toMatch(/^ERROR buggy of a->b restarting \(restart 2(, failing for 1s)?\) after: defect \(a bug\): RangeError: out of range$/)
        expect((yield* stateOf("buggy"))?._tag).toBe("Running")
        // neither task ended
        expect(yield* running(buggyFiber)).toBe(true)
        expect(yield* running(otherFiber)).toBe(true)
        expect((yield* other.starts).length).toBe(1)
        expect((yield* stateOf("other"))?._tag).toBe("Running")
      })
    ))

  it.effect("a transient error restarts with growing delays, state Restarting with the count and last error", () =>
    withLogs((lines) =>
      Effect.gen(function*() {
        const task = yield* scripted([() => transient("broker away")])
        yield* Effect.fork(supervise(spec("flaky"), task.body, isRetriable, POLICY))
        // one restart at a time: each step ends after the next start, before the one after it
        const observed: Array<TaskState | undefined> = []
        for (const step of ["1.5 seconds", "2.5 seconds", "4.5 seconds"] as const) {
          yield* TestClock.adjust(step)
          observed.push(yield* stateOf("flaky"))
        }
        const starts = yield* task.starts
        expect(starts.length).toBe(4)
        const gaps = starts.slice(1).map((t, i) => t - starts[i]!)
        // exponential from 1 s, jittered by at most ±20%: 0.8-1.2 s, 1.6-2.4 s, 3.2-4.8 s
        expect(gaps[0]).toBeGreaterThanOrEqual(800)
        expect(gaps[0]).toBeLessThanOrEqual(1_200)
        expect(gaps[1]).toBeGreaterThan(gaps[0]!)
        expect(gaps[2]).toBeGreaterThan(gaps[1]!)
        expect(observed.map((s) => s?._tag === "Restarting" ? [s.restarts, s.lastError] : s?._tag)).toEqual([
          [2, "broker away"],
          [3, "broker away"],
          [4, "broker away"]
        ])
        expect(lines.filter((l) => l.includes("restarting"))[0]).toBe("WARN flaky of a->b restarting (restart 1) after: broker away")
      })
    ))

  it.effect("once healthy for healthyAfter, the next failure counts restarts from 1 again", () =>
    withLogs(() =>
      Effect.gen(function*() {
        const task = yield* scripted([
          () => transient("first"),
          () => transient("second"),
          // healthy, but not for long enough: the run of failures goes on
          (healthy) => Effect.zipRight(healthy, Effect.zipRight(Effect.sleep("5 seconds"), transient("third"))),
          // healthy past healthyAfter (10 s): a new run of failures
          (healthy) => Effect.zipRight(healthy, Effect.zipRight(Effect.sleep("15 seconds"), transient("fourth"))),
          (healthy) => Effect.zipRight(healthy, Effect.never)
        ])
        yield* Effect.fork(supervise(spec("resets"), task.body, isRetriable, POLICY))
        // every Restarting state, seen while the task waits for its restart (at least 0.8 s)
        const seen: Array<string> = []
        while ((yield* task.starts).length < 5) {
          yield* TestClock.adjust("250 millis")
          const s = yield* stateOf("resets")
          const entry = s?._tag === "Restarting" ? `${s.restarts}: ${s.lastError}` : undefined
          if (entry !== undefined && seen.at(-1) !== entry) seen.push(entry)
        }
        expect(seen).toEqual(["1: first", "2: second", "3: third", "1: fourth"])
        expect(yield* stateOf("resets")).toMatchObject({ _tag: "Running" })
      })
    ))

  it.effect("a fatal error ends supervise with fatal and the reason, state Stopped, said once at ERROR", () =>
    withLogs((lines) =>
      Effect.gen(function*() {
        const task = yield* scripted([
          () => transient("blip"),
          () => Effect.fail(new Boom({ message: "not authorized", retriable: false }))
        ])
        const fiber = yield* Effect.fork(supervise(spec("doomed"), task.body, isRetriable, POLICY))
        yield* TestClock.adjust("5 seconds")
        const end = yield* Fiber.join(fiber)
        expect(end).toMatchObject({ fatal: true, reason: "not authorized" })
        expect(end.spec.task).toBe("doomed")
        expect(yield* stateOf("doomed")).toMatchObject({ _tag: "Stopped", fatal: true, reason: "not authorized" })
        expect(lines.filter((l) => l.startsWith("ERROR"))).toEqual(["ERROR doomed of a->b stopped: not authorized"])
        // no restart after the fatal error
        yield* TestClock.adjust("1 minute")
        expect((yield* task.starts).length).toBe(2)
      })
    ))

  it.effect("startupDeadline: transient failures before the first healthy signal turn fatal, naming the key", () =>
    withLogs((lines) =>
      Effect.gen(function*() {
        const deadline = { millis: 5_000, key: "admin.timeout.ms" }
        const neverHealthy = yield* scripted([() => transient("connection refused")])
        const fiber = yield* Effect.fork(supervise(spec("starting", { startupDeadline: deadline }), neverHealthy.body, isRetriable, POLICY))
        // a task that was healthy once is past its startup: the deadline no longer applies
        const wasHealthy = yield* scripted([(healthy) => Effect.zipRight(healthy, transient("later")), () => transient("later")])
        const other = yield* Effect.fork(supervise(spec("started", { startupDeadline: deadline }), wasHealthy.body, isRetriable, POLICY))

        yield* TestClock.adjust("3 seconds")
        expect(yield* running(fiber)).toBe(true)
        expect(yield* stateOf("starting")).toMatchObject({ _tag: "Restarting" })
        yield* TestClock.adjust("10 seconds")
        const end = yield* Fiber.join(fiber)
        expect(end.fatal).toBe(true)
        expect(end.reason).toBe(
          "connection refused (gave up after admin.timeout.ms = 5000 ms without reaching a healthy state)"
        )
        expect(yield* stateOf("starting")).toMatchObject({ _tag: "Stopped", fatal: true, reason: end.reason })
        expect(lines.filter((l) => l.startsWith("ERROR"))).toEqual([`ERROR starting of a->b stopped: ${end.reason}`])
        expect(yield* running(other)).toBe(true)
        expect(yield* stateOf("started")).toMatchObject({ _tag: "Restarting" })
      })
    ))

  it.effect("the recovery is logged once, with how long it took and the restarts", () =>
    withLogs((lines) =>
      Effect.gen(function*() {
        const task = yield* scripted([
          () => transient(),
          () => transient(),
          // reports health again and again, as tasks may
          (healthy) => Effect.zipRight(healthy, Effect.forever(Effect.zipRight(Effect.sleep("100 millis"), healthy)))
        ])
        yield* Effect.fork(supervise(spec("recovers"), task.body, isRetriable, POLICY))
        yield* TestClock.adjust("10 seconds")
        expect((yield* task.starts).length).toBe(3)
        const recoveries = lines.filter((l) => l.includes("is running again"))
        expect(recoveries).toHaveLength(1)
        expect(recoveries[0]).toMatch(/^INFO recovers of a->b is running again after \d+s and 2 restarts$/)
        expect(yield* stateOf("recovers")).toMatchObject({ _tag: "Running" })
      })
    ))
})
