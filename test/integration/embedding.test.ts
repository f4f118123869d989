/**
 * effect-mm2 embedded in another Effect program as a Layer (`Mm2.layer`): the host gets a
 * Replicator handle, and a fatal stop of replication reaches it instead of only a log line.
 * The replicator's API is imported only from the package entry (src/index.ts), as a host would;
 * the support helpers only set up and read the test clusters.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Fiber, Layer, Logger, LogLevel, Option, Ref, Stream, Supervisor } from "effect"
import { inject } from "vitest"
import { Mm2, Replicator, type TaskStatus } from "../../src/index.js"
import {
  createTopic,
  endOffsets,
  eventually,
  flowProps,
  groupOffsets,
  produceToPartitions,
  progressGroup,
  resolveProps,
  sum,
  uniqueId,
  waitForCount
} from "./support/kafka.js"
import { indexedRecords } from "./support/records.js"

/** Builds the layer in the current scope, as a host's `Layer.launch`/`provide` would. */
const embed = (props: Readonly<Record<string, string>>) =>
  Effect.gen(function*() {
    const settings = yield* resolveProps(props)
    const context = yield* Layer.build(Mm2.layer(settings))
    return Context.get(context, Replicator)
  }).pipe(Logger.withMinimumLogLevel(LogLevel.Warning))

describe("embedding as a Layer", () => {
  it.scopedLive("a fatal stop of every flow fails the host's Replicator.await, naming the flow and the reason", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [source, target] = [`p${id}`, `b${id}`]
      const topic = `embedfatal${id}`
      yield* createTopic(primary, topic, 1)
      // the backup has one broker: a remote topic with 3 replicas cannot be created, which is fatal
      const replicator = yield* embed(flowProps({
        source,
        target,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: topic,
        extra: { "replication.factor": "3" }
      }))
      const exit = yield* replicator.await.pipe(Effect.timeout("60 seconds"), Effect.exit)
      expect(Exit.isFailure(exit), "Replicator.await must fail").toBe(true)
      const failure = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
      expect(failure?._tag, Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "").toBe("FlowsFailed")
      if (failure?._tag !== "FlowsFailed") return
      expect(failure.failures.map((f) => f.flow)).toEqual([`${source}->${target}`])
      expect(failure.message).toContain(`flow ${source}->${target} stopped`)
      expect(failure.message).toMatch(/replication.factor is invalid/i)
      expect(yield* replicator.stoppedFlows).toEqual(failure.failures)
    }), 90_000)

  it.scopedLive("a healthy embedded replicator replicates, keeps Replicator.await pending, and stops with its scope", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [source, target] = [`p${id}`, `b${id}`]
      const topic = `embedok${id}`
      const records = indexedRecords("embed", 30, 2)
      yield* createTopic(primary, topic, 2)
      yield* produceToPartitions(primary, topic, records)
      const awaited = yield* Effect.scoped(
        Effect.gen(function*() {
          const replicator = yield* embed(flowProps({
            source,
            target,
            sourceBootstrap: primary,
            targetBootstrap: backup,
            topics: topic
          }))
          yield* waitForCount(backup, `${source}.${topic}`, records.length)
          expect(yield* replicator.stoppedFlows).toEqual([])
          // still running: await has not completed
          const pending = yield* replicator.await.pipe(Effect.timeout("500 millis"), Effect.exit)
          expect(Exit.isFailure(pending) && Cause.isFailType(pending.cause) && pending.cause.error._tag === "TimeoutException").toBe(true)
          return yield* Effect.fork(replicator.await)
        })
      )
      // the layer's scope closed: the replicator was interrupted, and so is whoever awaited it
      const exit = yield* awaited.await.pipe(Effect.timeout("75 seconds"))
      expect(Exit.isInterrupted(exit), String(exit)).toBe(true)
    }), 120_000)

  it.scopedLive(
    "a host program waits for ready, observes task states, stops one flow while the other runs on, and leaves nothing behind",
    () =>
      Effect.gen(function*() {
        const primary = inject("primaryBootstrap")
        const backup = inject("backupBootstrap")
        const id = uniqueId()
        // two flows from the same broker under two aliases, into one target
        const [p, q, b] = [`p${id}`, `q${id}`, `b${id}`]
        const [t1, t2] = [`embedapi1${id}`, `embedapi2${id}`]
        const [flow1, flow2] = [`${p}->${b}`, `${q}->${b}`]
        yield* createTopic(primary, t1, 2)
        yield* createTopic(primary, t2, 1)
        yield* produceToPartitions(primary, t1, indexedRecords("one", 20, 2))
        yield* produceToPartitions(primary, t2, indexedRecords("two", 15, 1))
        const props = {
          ...flowProps({ source: p, target: b, sourceBootstrap: primary, targetBootstrap: backup, topics: t1 }),
          ...flowProps({ source: q, target: b, sourceBootstrap: primary, targetBootstrap: backup, topics: t2 }),
          clusters: `${p}, ${q}, ${b}`
        }

        // what the worker holds before the replicator exists (vitest's own handles included)
        const before = activeResources()
        const fibers = yield* Supervisor.track
        const seen = yield* Ref.make<ReadonlyArray<ReadonlyArray<TaskStatus>>>([])

        // the host program: it only knows the Replicator service, the layer provides it
        const host = Effect.gen(function*() {
          const replicator = yield* Replicator
          // every herder MM2 would run: the two flows and heartbeat-only pairs
          expect(replicator.flows).toEqual(expect.arrayContaining([flow1, flow2, `${b}->${p}`, `${b}->${q}`]))
          const watching = yield* Effect.fork(Stream.runForEach(replicator.taskChanges, (all) => Ref.update(seen, (ss) => [...ss, all])))

          // ready: both flows running and caught up, so everything produced before is on the target
          yield* replicator.awaitReady.pipe(Effect.timeout("90 seconds"))
          expect(sum(yield* endOffsets(backup, `${p}.${t1}`))).toBe(20)
          expect(sum(yield* endOffsets(backup, `${q}.${t2}`))).toBe(15)
          const replication = (all: ReadonlyArray<TaskStatus>, flow: string) =>
            all.find((s) => s.herder === flow && s.task === "replication")?.state
          expect(replication(yield* replicator.tasks, flow1)?._tag).toBe("Running")

          // stop one flow: its tasks stop (progress committed), the other flow replicates on
          yield* replicator.stopFlow(flow1)
          const afterStop = yield* replicator.tasks
          const stopped = afterStop.filter((s) => s.herder === flow1)
          expect(stopped.length).toBeGreaterThan(0)
          for (const s of stopped) {
            expect(s.state._tag === "Stopped" && !s.state.fatal && s.state.reason.includes("stopped by the host"), JSON.stringify(s)).toBe(true)
          }
          expect(replication(afterStop, flow2)?._tag).toBe("Running")
          expect(yield* groupOffsets(primary, progressGroup(p, b), t1)).toEqual([10, 10])
          yield* replicator.stopFlow(flow1) // stopping a stopped flow does nothing

          yield* produceToPartitions(primary, t1, indexedRecords("one-more", 10, 2))
          yield* produceToPartitions(primary, t2, indexedRecords("two-more", 10, 1))
          yield* waitForCount(backup, `${q}.${t2}`, 25)
          // well after flow2 replicated the new records, flow1 still has not
          yield* Effect.sleep("2 seconds")
          expect(sum(yield* endOffsets(backup, `${p}.${t1}`))).toBe(20)

          const unknown = yield* Effect.flip(replicator.stopFlow("nope->none"))
          expect(unknown._tag).toBe("NoSuchFlow")
          expect(unknown.message).toContain(flow2)
          expect(yield* replicator.stoppedFlows).toEqual([])

          // once no flow is left replicating, the replicator has ended without failure
          yield* replicator.stopFlow(flow2)
          const ended = yield* replicator.await.pipe(Effect.timeout("30 seconds"), Effect.exit)
          expect(Exit.isSuccess(ended), String(ended)).toBe(true)
          yield* Fiber.interrupt(watching)
        })
        yield* host.pipe(
          Effect.provide(Mm2.layerFromProperties(props, { name: "embedding.properties" })),
          Effect.supervised(fibers),
          Logger.withMinimumLogLevel(LogLevel.Warning)
        )

        // observed through the status stream: flow1 replicating, then stopped by the host
        const snapshots = yield* Ref.get(seen)
        const states = snapshots.map((all) => all.find((s) => s.herder === flow1 && s.task === "replication")?.state._tag)
        expect(states).toContain("Running")
        expect(states.indexOf("Stopped")).toBeGreaterThan(states.indexOf("Running"))

        // nothing left behind: no fiber of the replicator, no socket, timer or process
        const left = yield* eventually(
          "the replicator's fibers and handles to be gone",
          Effect.map(fibers.value, (fs) => ({ fibers: fs.length, extra: extraResources(before, activeResources()) })),
          (x) => x.fibers === 0 && Object.keys(x.extra).length === 0,
          { timeout: "15 seconds" }
        )
        expect(left).toEqual({ fibers: 0, extra: {} })
      }),
    180_000
  )
})

/** The worker's active resources (sockets, timers, processes, ...) by type, with their counts. */
const activeResources = (): ReadonlyMap<string, number> => {
  const counts = new Map<string, number>()
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1)
  return counts
}

/** The types of which `now` has more than `before`, with how many more. */
const extraResources = (before: ReadonlyMap<string, number>, now: ReadonlyMap<string, number>): Record<string, number> =>
  Object.fromEntries([...now].filter(([r, n]) => n > (before.get(r) ?? 0)).map(([r, n]) => [r, n - (before.get(r) ?? 0)]))

