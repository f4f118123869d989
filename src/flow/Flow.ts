/**
 * One replication flow `source->target` as a fiber tree:
 *
 *   SourceReader session --(Stream of batches, each with its ack)--> TargetWriter (+ PolicyRenamer)
 *        ^ restarted when the topic set changes                        |--> ReplicationLog (offsets)
 *   RemoteTopics refresh loop                                          `--> batch.ack (progress)
 *
 * The pipeline takes whatever batches are waiting (up to the queue's capacity) and writes them in
 * as few requests as it can, so the hot path moves batches, never single records.
 */
import { Chunk, Duration, Effect, Fiber, Layer, Stream } from "effect"
import type { FlowSettings } from "../config/Mm2Config.js"
import type { KafkaClient } from "../kafka/KafkaClient.js"
import type { KafkaError } from "../kafka/KafkaError.js"
import { FlowContext, type FlowConfigError } from "./FlowContext.js"
import { PolicyRenamer } from "./PolicyRenamer.js"
import { type ReplicatedTopic, RemoteTopics } from "./RemoteTopics.js"
import { ReplicationLog } from "./ReplicationLog.js"
import { backoff, retryTransient } from "./Retry.js"
import { SourceReader } from "./SourceReader.js"
import { TargetWriter } from "./TargetWriter.js"

/** What a reader session depends on: a topic's id too, so one deleted and recreated between two refreshes restarts it. */
const fingerprint = (topics: ReadonlyArray<ReplicatedTopic>): string =>
  topics.map((t) => `${t.source}:${t.partitions}:${t.topicId ?? ""}`).join(",")

/** How soon a process waiting for remote topics another one creates looks again. */
const WAITING_REFRESH = Duration.seconds(2)

/** Moves batches from the reader to the target, forever: whatever is waiting, in one go. */
const pipeline = Effect.gen(function*() {
  const reader = yield* SourceReader
  const writer = yield* TargetWriter
  return yield* reader.batches.pipe(
    Stream.chunks,
    Stream.runForEach((chunk) => writer.write(Chunk.toReadonlyArray(chunk))),
    // the reader's queue only ends when the flow's scope closes
    Effect.zipRight(Effect.never)
  )
})

/** Reads the current topic set until it changes (then returns the new set) or the consumer fails. */
const readUntilTopicsChange = (current: ReadonlyArray<ReplicatedTopic>) =>
  Effect.gen(function*() {
    const ctx = yield* FlowContext
    const reader = yield* SourceReader
    const topics = yield* RemoteTopics
    const { refreshTopicsEnabled, refreshTopicsIntervalSeconds } = ctx.settings
    const interval = Duration.seconds(Math.max(refreshTopicsIntervalSeconds, 0.1))
    // topics another process has still to create come as soon as they are there
    const nextRefresh = Effect.map(topics.waiting, (waiting) => (waiting ? Duration.min(interval, WAITING_REFRESH) : interval))
    const refreshing = refreshTopicsEnabled && refreshTopicsIntervalSeconds >= 0
    // without refreshes, a process still looks until the topics it started with are all in place
    const changed = Effect.flatMap(topics.waiting, (waiting) =>
      refreshing || waiting
        ? topics.sync.pipe(
          retryTransient(`refreshing topics of ${ctx.name}`),
          (sync) => Effect.flatMap(nextRefresh, (d) => Effect.delay(sync, d)),
          Effect.tap((next) => Effect.logDebug(`${ctx.name}: topics ${fingerprint(next)} (reading ${fingerprint(current)})`)),
          Effect.repeat({ until: (next) => fingerprint(next) !== fingerprint(current) })
        )
        : Effect.never)
    const reading = current.length === 0
      ? Effect.never
      : reader.session(current.map((t) => t.source))
    return yield* Effect.raceFirst(reading, changed).pipe(Effect.scoped)
  })

/** Runs the flow; `onStarted` runs once its clusters answered and its topics are in place. */
export const run = (onStarted: Effect.Effect<void> = Effect.void): Effect.Effect<
  never,
  KafkaError,
  FlowContext | SourceReader | TargetWriter | ReplicationLog | RemoteTopics
> => Effect.gen(function*() {
  const ctx = yield* FlowContext
  const topics = yield* RemoteTopics
  const writing = yield* Effect.forkScoped(pipeline)
  // a failure here fails the run; the supervisor retries it until admin.timeout.ms has passed
  const first = yield* topics.sync
  yield* onStarted
  const loop = Effect.iterate(first, {
    while: () => true,
    body: (current) =>
      readUntilTopicsChange(current).pipe(
        Effect.tap((next) => Effect.logInfo(`${ctx.name}: topic set changed, now ${next.length} topics`)),
        // a consumer crash restarts the session (the queue and acknowledged progress survive)
        Effect.retry({ schedule: backoff("500 millis", "30 seconds"), while: (e) => e.retriable })
      )
  })
  // Forked after the writer, so the scope stops it first and waits for it: the session's
  // finalizer drains and commits while the writer still runs. (Interrupting a race would not
  // wait for its losers, and the writer could be gone, with acknowledgements lost, before the
  // session committed.)
  const reading = yield* Effect.forkScoped(Effect.zipRight(loop, Effect.never))
  return yield* Effect.raceFirst(Fiber.join(reading), Fiber.join(writing))
}).pipe(Effect.scoped)

/** All services of one flow, wired; the ReplicationLog comes from the herder (it outlives restarts). */
export const layer = (settings: FlowSettings): Layer.Layer<
  FlowContext | SourceReader | TargetWriter | RemoteTopics | PolicyRenamer,
  FlowConfigError | KafkaError,
  KafkaClient | ReplicationLog
> => {
  const context = FlowContext.layer(settings)
  const renamer = PolicyRenamer.layer.pipe(Layer.provideMerge(context))
  return Layer.mergeAll(
    SourceReader.layer,
    TargetWriter.layer,
    RemoteTopics.layer
  ).pipe(Layer.provideMerge(renamer))
}
