/**
 * effect-mm2 embedded in another Effect program as a Layer (`Mm2.layer`): the host gets a
 * Replicator handle, and a fatal stop of replication reaches it instead of only a log line.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Layer, Logger, LogLevel, Option } from "effect"
import { inject } from "vitest"
import * as Mm2 from "../../src/Mm2.js"
import { Replicator } from "../../src/Replicator.js"
import { createTopic, flowProps, produceToPartitions, resolveProps, uniqueId, waitForCount } from "./support/kafka.js"
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
})
