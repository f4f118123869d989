/**
 * Fetches source batches and records replication progress; the writer sees only a Stream of
 * batches, each carrying its own acknowledgement.
 *
 * Progress lives in a consumer group on the source cluster (`effect-mm2.<source>-><target>`):
 * the offset after a batch is committed only once the target acknowledged that batch (its
 * `ack`), so a crash or kill at any point re-reads, never skips (at-least-once). At most
 * QUEUE_CAPACITY batches wait for the writer; while they do, the consumer's batch handler waits,
 * which pauses fetching (backpressure all the way to the broker).
 */
import {
  Context,
  Deferred,
  Duration,
  Effect,
  Exit,
  Layer,
  Option,
  Queue,
  Ref,
  Schedule,
  type Scope,
  Stream,
  SubscriptionRef
} from "effect"
import { KafkaClient } from "../kafka/KafkaClient.js"
import { KafkaError } from "../kafka/KafkaError.js"
import { type FetchedBatch, topicPartitionKey, type TopicPartitionOffset } from "../kafka/KafkaRecord.js"
import { bounded } from "../supervision/Bounded.js"
import * as FailureStreak from "../supervision/FailureStreak.js"
import { FlowContext } from "./FlowContext.js"

/** Fetched-but-unwritten batches held per flow; each is at most ~1 MiB (the fetch size per partition). */
export const QUEUE_CAPACITY = 16

/** How long a stopping session waits for the writer to finish what was already fetched. */
export const DRAIN_TIMEOUT = Duration.seconds(30)

/** How long a stopping session tries each way of committing its progress. */
const FINAL_COMMIT_TIMEOUT = Duration.seconds(5)

/** A fetched batch and what the writer runs once the target acknowledged all of it. */
export interface SourceBatch {
  readonly batch: FetchedBatch
  readonly ack: Effect.Effect<void>
}

type Offsets = Map<string, TopicPartitionOffset>

/** `pending` with `offsets` put back where nothing newer arrived meanwhile. */
const putBack = (pending: Ref.Ref<Offsets>, offsets: Offsets) =>
  Ref.update(pending, (m) => {
    for (const [k, v] of offsets) if (!m.has(k)) m.set(k, v)
    return m
  })

export class SourceReader extends Context.Tag("effect-mm2/SourceReader")<SourceReader, {
  /**
   * Fetched batches in fetch order (per partition), each to be acknowledged once written. One
   * consumer at a time; when it stops consuming, stopping sessions no longer wait for it.
   */
  readonly batches: Stream.Stream<SourceBatch>
  /**
   * Consumes `topics` until interrupted or the consumer fails. On the way out it stops fetching,
   * waits until every fetched batch was acknowledged (or DRAIN_TIMEOUT), and commits progress.
   */
  readonly session: (topics: ReadonlyArray<string>) => Effect.Effect<never, KafkaError, Scope.Scope>
}>() {
  static readonly make = Effect.gen(function*() {
    const ctx = yield* FlowContext
    const kafka = yield* KafkaClient
    const queue = yield* Effect.acquireRelease(Queue.bounded<SourceBatch>(QUEUE_CAPACITY), Queue.shutdown)
    // handed to the writer and not yet acknowledged
    const inFlight = yield* SubscriptionRef.make(0)
    const writerGone = yield* Deferred.make<void>()
    // next offset to read per partition, acknowledged but not yet committed
    const pending = yield* Ref.make<Offsets>(new Map())
    // sessions that fail before delivering anything (a broker down, a batch no codec can read)
    // are one run of failures; the first batch delivered ends it
    const streak = yield* FailureStreak.make(`reading from cluster '${ctx.settings.source}'`)

    const ackOf = (b: FetchedBatch): Effect.Effect<void> => {
      const last = b.records[b.records.length - 1]
      const next = last === undefined ? undefined : { topic: b.topic, partition: b.partition, offset: (BigInt(last.offset) + 1n).toString() }
      return Effect.zipRight(
        next === undefined ? Effect.void : Ref.update(pending, (m) => {
          const key = topicPartitionKey(b.topic, b.partition)
          const prev = m.get(key)
          // the largest acknowledged offset is safe to commit: writes are in order per partition
          if (prev === undefined || BigInt(prev.offset) < BigInt(next.offset)) m.set(key, next)
          return m
        }),
        SubscriptionRef.update(inFlight, (n) => n - 1)
      )
    }

    const batches = Stream.fromQueue(queue, { maxChunkSize: QUEUE_CAPACITY }).pipe(
      Stream.ensuring(Deferred.succeed(writerGone, undefined))
    )

    // everything handed over was acknowledged, or nobody is left to acknowledge it
    const awaitDrained = Effect.raceFirst(
      inFlight.changes.pipe(Stream.takeUntil((n) => n <= 0), Stream.runDrain),
      Deferred.await(writerGone)
    )

    /** With `auto.offset.reset = none`, every partition must already have progress: name those without. */
    const requireProgress = (topics: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const admin = yield* kafka.admin(ctx.sourceAdmin)
        const offsets = yield* admin.fetchGroupOffsets(ctx.progressGroupId, topics)
        const missing = offsets.filter((o) => BigInt(o.offset) < 0n).map((o) => `${o.topic}-${o.partition}`)
        if (missing.length > 0) {
          return yield* new KafkaError({
            cluster: ctx.settings.source,
            operation: "start replication",
            reason: "InvalidRequest",
            retriable: false,
            detail: `auto.offset.reset = none and group ${ctx.progressGroupId} has no progress for partition${
              missing.length > 1 ? "s" : ""
            } ${missing.join(", ")}`
          })
        }
      }).pipe(Effect.scoped)

    const session = (topics: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const settings = ctx.sourceConsumerSettings
        if (settings.autoOffsetReset === "none") yield* requireProgress(topics)
        const consumer = yield* kafka.consumer(ctx.sourceConsumer, {
          groupId: ctx.progressGroupId,
          topics,
          fromBeginning: settings.autoOffsetReset !== "latest",
          partitionsConsumedConcurrently: 8,
          readCommitted: settings.readCommitted,
          ...(settings.maxPartitionFetchBytes !== undefined ? { maxBytesPerPartition: settings.maxPartitionFetchBytes } : {}),
          maxWaitTimeMs: Math.max(10, Math.min(ctx.settings.consumerPollTimeoutMs, 5_000))
        })

        // Offsets taken for a commit that fails or is interrupted go back, unless newer ones
        // arrived meanwhile: they are committed later, never dropped.
        const commitWith = (send: (offsets: ReadonlyArray<TopicPartitionOffset>) => Effect.Effect<void, KafkaError>) =>
          Effect.uninterruptibleMask((restore) =>
            Effect.gen(function*() {
              const offsets = yield* Ref.getAndSet(pending, new Map())
              if (offsets.size === 0) return true
              const exit = yield* Effect.exit(restore(send([...offsets.values()])))
              if (Exit.isSuccess(exit)) return true
              yield* putBack(pending, offsets)
              if (Exit.isFailure(exit) && !Exit.isInterrupted(exit)) {
                yield* Effect.logWarning(`committing progress of ${ctx.name} failed, will retry: ${
                  exit.cause._tag === "Fail" ? exit.cause.error.message : "unexpected error"
                }`)
              }
              return false
            })
          )
        const commit = commitWith(consumer.commit)

        let stopping = false
        // batches still waiting for room in the queue give up when the session stops: never
        // handed over, they are not acknowledged and the next session reads them again
        const stopped = yield* Deferred.make<void>()
        yield* Effect.addFinalizer(() =>
          Effect.gen(function*() {
            // stop handing batches over, let the writer finish what it has, commit, and only
            // then stop the consumer (kafkajs refuses commits once stopped)
            stopping = true
            yield* Deferred.succeed(stopped, undefined)
            yield* Effect.logDebug(`${ctx.name}: session stopping, ${yield* SubscriptionRef.get(inFlight)} batches in flight`)
            const drained = yield* bounded(awaitDrained, DRAIN_TIMEOUT)
            if (Option.isNone(drained)) {
              yield* Effect.logWarning(`${ctx.name}: in-flight batches not acknowledged within ${Duration.format(DRAIN_TIMEOUT)}; they will be re-read`)
            }
            // bounded: a commit can hang on a group that is still joining; its offsets then go back
            const committed = Option.getOrElse(yield* bounded(commit, FINAL_COMMIT_TIMEOUT), () => false)
            yield* consumer.stop
            // The group's member was still joining or rebalancing (e.g. stopped right after
            // start), so it could not commit: it has left now, and the group takes an admin commit.
            if (!committed) {
              const viaAdmin = commitWith((offsets) =>
                kafka.admin(ctx.sourceAdmin).pipe(
                  Effect.flatMap((admin) => admin.commitGroupOffsets(ctx.progressGroupId, offsets)),
                  Effect.scoped
                )
              )
              if (!Option.getOrElse(yield* bounded(viaAdmin, FINAL_COMMIT_TIMEOUT), () => false)) {
                yield* Effect.logWarning(`${ctx.name}: progress not committed; acknowledged records will be re-read`)
              }
            }
            yield* Effect.logDebug(`${ctx.name}: session stopped`)
          })
        )

        yield* consumer.start((batch) =>
          stopping
            ? Effect.void // never handed over: not acknowledged, so re-read by the next session
            : Effect.zipRight(
              Effect.zipRight(streak.healthy, SubscriptionRef.update(inFlight, (n) => n + 1)),
              Queue.offer(queue, { batch, ack: ackOf(batch) }).pipe(
                Effect.onInterrupt(() => SubscriptionRef.update(inFlight, (n) => n - 1)),
                Effect.raceFirst(Deferred.await(stopped))
              )
            )
        )
        yield* Effect.logInfo(`${ctx.name} replicating ${topics.length} topics: ${topics.join(", ")}`)
        yield* commit.pipe(
          Effect.repeat(Schedule.spaced(Duration.millis(ctx.settings.offsetFlushIntervalMs))),
          Effect.forkScoped
        )
        return yield* consumer.crashed
      }).pipe(Effect.tapError((e) => (e.retriable ? streak.failed(e.message) : Effect.void)))

    return { batches, session }
  })

  static readonly layer = Layer.scoped(SourceReader, SourceReader.make)
}
