/**
 * Fetches source batches into a bounded queue and records replication progress.
 *
 * Progress lives in a consumer group on the source cluster (`effect-mm2.<source>-><target>`):
 * the offset after a batch is committed only once the target acknowledged that batch, so a
 * crash or kill at any point re-reads, never skips (at-least-once). While the queue is full the
 * consumer's batch handler waits, which pauses fetching (backpressure all the way to the broker).
 */
import { Context, Deferred, Duration, Effect, Fiber, Layer, Queue, Ref, Schedule, type Scope, Stream, SubscriptionRef } from "effect"
import { KafkaClient } from "../kafka/KafkaClient.js"
import type { KafkaError } from "../kafka/KafkaError.js"
import type { FetchedBatch, TopicPartitionOffset } from "../kafka/KafkaRecord.js"
import * as FailureStreak from "./FailureStreak.js"
import { FlowContext } from "./FlowContext.js"

/** Fetched-but-unwritten batches held per flow; each is at most ~1 MiB (the fetch size per partition). */
export const QUEUE_CAPACITY = 16

/** How long a stopping session waits for the writer to finish what was already fetched. */
export const DRAIN_TIMEOUT = Duration.seconds(30)

export class SourceReader extends Context.Tag("effect-mm2/SourceReader")<SourceReader, {
  /** fetched batches in fetch order (per partition), waiting for the writer */
  readonly fetched: Queue.Dequeue<FetchedBatch>
  /**
   * Consumes `topics` until interrupted or the consumer fails. On the way out it stops fetching,
   * waits until every fetched batch was acknowledged (or DRAIN_TIMEOUT), and commits progress.
   */
  readonly session: (topics: ReadonlyArray<string>) => Effect.Effect<never, KafkaError, Scope.Scope>
  /** the writer calls this once the target acknowledged these batches */
  readonly acknowledge: (batches: ReadonlyArray<FetchedBatch>) => Effect.Effect<void>
  /** the writer calls this when it stops for good: a stopping session then need not wait for it */
  readonly writerStopped: Effect.Effect<void>
}>() {
  static readonly make = Effect.gen(function*() {
    const ctx = yield* FlowContext
    const kafka = yield* KafkaClient
    const fetched = yield* Effect.acquireRelease(Queue.bounded<FetchedBatch>(QUEUE_CAPACITY), Queue.shutdown)
    const inFlight = yield* SubscriptionRef.make(0)
    const writerGone = yield* Deferred.make<void>()
    // next offset to read per partition, acknowledged but not yet committed
    const pending = yield* Ref.make(new Map<string, TopicPartitionOffset>())
    // sessions that fail before delivering anything (a broker down, a batch no codec can read)
    // are one run of failures; the first batch delivered ends it
    const streak = yield* FailureStreak.make(`reading from cluster '${ctx.settings.source}'`)

    const acknowledge = (batches: ReadonlyArray<FetchedBatch>) =>
      Effect.zipRight(
        Ref.update(pending, (m) => {
          for (const b of batches) {
            const last = b.records[b.records.length - 1]
            if (last === undefined) continue
            const key = `${b.topic}\u0000${b.partition}`
            const next = BigInt(last.offset) + 1n
            const prev = m.get(key)
            // the largest acknowledged offset is safe to commit: writes are in order per partition
            if (prev === undefined || BigInt(prev.offset) < next) {
              m.set(key, { topic: b.topic, partition: b.partition, offset: next.toString() })
            }
          }
          return m
        }),
        SubscriptionRef.update(inFlight, (n) => n - batches.length)
      )

    // everything handed over was acknowledged, or nobody is left to acknowledge it
    const awaitDrained = Effect.raceFirst(
      inFlight.changes.pipe(Stream.takeUntil((n) => n <= 0), Stream.runDrain),
      Deferred.await(writerGone)
    )

    const session = (topics: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const consumer = yield* kafka.consumer(ctx.sourceConsumer, {
          groupId: ctx.progressGroupId,
          topics,
          // MM2's replication consumer defaults to auto.offset.reset=earliest; `none` reads as
          // earliest for now (README: differences from Java MM2)
          fromBeginning: ctx.sourceConsumerSettings.autoOffsetReset !== "latest",
          partitionsConsumedConcurrently: 8,
          readCommitted: ctx.sourceConsumerSettings.readCommitted,
          ...(ctx.sourceConsumerSettings.maxPartitionFetchBytes !== undefined
            ? { maxBytesPerPartition: ctx.sourceConsumerSettings.maxPartitionFetchBytes }
            : {}),
          maxWaitTimeMs: Math.max(10, Math.min(ctx.settings.consumerPollTimeoutMs, 5_000))
        })

        const commit = Effect.gen(function*() {
          const offsets = yield* Ref.getAndSet(pending, new Map())
          if (offsets.size === 0) return
          yield* consumer.commit([...offsets.values()]).pipe(
            Effect.catchAll((e) =>
              // put them back unless newer ones arrived meanwhile; the next commit tries again
              Effect.zipRight(
                Effect.logWarning(`committing progress of ${ctx.name} failed: ${e.message}`),
                Ref.update(pending, (m) => {
                  for (const [k, v] of offsets) if (!m.has(k)) m.set(k, v)
                  return m
                })
              )
            )
          )
        })

        let stopping = false
        yield* Effect.addFinalizer(() =>
          Effect.gen(function*() {
            // stop handing batches over, let the writer finish what it has, commit, and only
            // then stop the consumer (kafkajs refuses commits once stopped)
            stopping = true
            yield* Effect.logDebug(`${ctx.name}: session stopping, ${yield* SubscriptionRef.get(inFlight)} batches in flight`)
            // finalizers run uninterruptibly, where a race could never interrupt its loser:
            // wait (with the timeout) in a child fiber that may be interrupted
            yield* awaitDrained.pipe(
              Effect.timeoutFail({ duration: DRAIN_TIMEOUT, onTimeout: () => "timeout" as const }),
              Effect.catchAll(() => Effect.logWarning(`${ctx.name}: in-flight batches not acknowledged within ${Duration.format(DRAIN_TIMEOUT)}; they will be re-read`)),
              Effect.interruptible,
              Effect.fork,
              Effect.flatMap(Fiber.join)
            )
            yield* Effect.logDebug(`${ctx.name}: drained, committing`)
            yield* commit
            yield* Effect.logDebug(`${ctx.name}: stopping consumer`)
            yield* consumer.stop
            yield* Effect.logDebug(`${ctx.name}: session stopped`)
          })
        )

        yield* consumer.start((batch) =>
          stopping
            ? Effect.void // never handed over: not acknowledged, so re-read by the next session
            : Effect.zipRight(
              Effect.zipRight(streak.healthy, SubscriptionRef.update(inFlight, (n) => n + 1)),
              Queue.offer(fetched, batch).pipe(Effect.onInterrupt(() => SubscriptionRef.update(inFlight, (n) => n - 1)))
            )
        )
        yield* Effect.logInfo(`${ctx.name} replicating ${topics.length} topics: ${topics.join(", ")}`)
        yield* commit.pipe(
          Effect.repeat(Schedule.spaced(Duration.millis(ctx.settings.offsetFlushIntervalMs))),
          Effect.forkScoped
        )
        return yield* consumer.crashed
      }).pipe(Effect.tapError((e) => (e.retriable ? streak.failed(e.message) : Effect.void)))

    return { fetched, session, acknowledge, writerStopped: Deferred.succeed(writerGone, undefined).pipe(Effect.asVoid) }
  })

  static readonly layer = Layer.scoped(SourceReader, SourceReader.make)
}
