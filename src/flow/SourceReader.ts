/**
 * Fetches source batches and records replication progress; the writer sees only a Stream of
 * batches, each carrying its own acknowledgement.
 *
 * Progress lives in a consumer group on the source cluster (`effect-mm2.<source>-><target>`):
 * the offset after a batch is committed only once the target acknowledged that batch (its
 * `ack`), so a crash or kill at any point re-reads, never skips (at-least-once). Batches handed
 * to the writer and not yet acknowledged hold at most half of `effect-mm2.replication.buffer.bytes`
 * (decoded bytes, see ByteBudget.ts) and QUEUE_CAPACITY batches wait for it; while a batch waits
 * for room, the consumer's batch handler waits, which pauses fetching (backpressure all the way
 * to the broker). The other half bounds what one round of fetches decodes.
 *
 * Each committed position carries, in its commit metadata, the id of the topic it is a position
 * in (and is recorded on the target too, see `markOnTarget`). A position that left its
 * partition's log (records removed by retention or deleteRecords before they were replicated, a
 * truncated log, a topic deleted and recreated) is reported once at ERROR with the exact offsets
 * never replicated, counted, noted in the task state, and then handled per `auto.offset.reset`
 * (see SourceGaps.ts): at session start for recreated topics (their topic id changed), and
 * whenever the broker answers a fetch with "out of range". None of this runs per record.
 */
import {
  Chunk,
  Clock,
  Context,
  Deferred,
  Duration,
  Effect,
  Exit,
  Layer,
  Metric,
  Option,
  Queue,
  Ref,
  Schedule,
  Scope,
  Stream,
  SubscriptionRef
} from "effect"
import type { ConnectionSettings } from "../kafka/ClientSettings.js"
import { type AssignedPartitions, type KafkaAdmin, KafkaClient, type OutOfRangeAction } from "../kafka/KafkaClient.js"
import { KafkaError } from "../kafka/KafkaError.js"
import { type FetchedBatch, topicPartitionKey, type TopicPartitionOffset } from "../kafka/KafkaRecord.js"
import { bounded } from "../supervision/Bounded.js"
import * as FailureStreak from "../supervision/FailureStreak.js"
import { TaskNotes } from "../supervision/TaskNotes.js"
import * as EndOffsets from "../telemetry/EndOffsets.js"
import { forSourcePartition, gapEvents, lostRecords, stoppedPartitions } from "../telemetry/Metrics.js"
import * as Progress from "../telemetry/Progress.js"
import * as ConnectOffsets from "./ConnectOffsets.js"
import * as ByteBudget from "./ByteBudget.js"
import { FlowContext } from "./FlowContext.js"
import { type GapPlan, planGap, progressMetadata, topicIdOf } from "./SourceGaps.js"

/** Batches waiting for the writer (also the most one write takes); their bytes are bounded by the flow's ByteBudget. */
export const QUEUE_CAPACITY = 16

/** How long a stopping session waits for the writer to finish what was already fetched. */
export const DRAIN_TIMEOUT = Duration.seconds(30)

/** How long a stopping session tries each way of committing its progress. */
const FINAL_COMMIT_TIMEOUT = Duration.seconds(5)

/** A fetched batch and what the writer runs once the target acknowledged all of it. */
export interface SourceBatch {
  readonly batch: FetchedBatch
  readonly ack: Effect.Effect<void>
  /** the reader's ownership epoch it was fetched in: a batch of an earlier one is not written (see `revoking`) */
  readonly epoch: number
  /** bytes of the flow's ByteBudget it holds until acknowledged (or dropped) */
  readonly held: number
}

/**
 * How long a member that is losing its partitions in a rebalance waits for the writer to finish
 * what it was handed: well within the consumer's session and rebalance timeouts, so the member
 * rejoins in time. Whatever is left then is not written by this member (re-read by the next owner).
 */
const REVOKE_DRAIN_TIMEOUT = Duration.seconds(8)

/** How long recording topic ids on the target may take (it is tried again with the next commit). */
const MARK_TIMEOUT = Duration.seconds(10)

/** How long a position that is out of range, then back in range (a leader moving), waits before it is fetched again. */
const OUT_OF_RANGE_RECHECK = Duration.seconds(1)

/** A position to commit, with its commit metadata (the id of its topic). */
type PendingOffset = TopicPartitionOffset & { readonly metadata: string | null }

type Offsets = Map<string, PendingOffset>

const SEEK = (offset: bigint): OutOfRangeAction => ({ _tag: "Seek", offset: offset.toString() })
const PAUSE: OutOfRangeAction = { _tag: "Pause" }
const RETRY: OutOfRangeAction = { _tag: "Retry" }

/** What was decided for a partition whose position left its log: the same position again gets the same answer, silently. */
interface GapDecision {
  readonly position: string
  readonly action: OutOfRangeAction
}

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
    // half of the flow's memory budget for batches handed over, the other half for one round of fetches
    const bufferBytes = ctx.settings.replicationBufferBytes
    const budget = ByteBudget.make(bufferBytes / 2)
    // handed to the writer and not yet acknowledged
    const inFlight = yield* SubscriptionRef.make(0)
    const flowKey = { name: ctx.name, source: ctx.settings.source, target: ctx.settings.target }
    const moveInFlight = (d: number) => Effect.flatMap(SubscriptionRef.updateAndGet(inFlight, (n) => n + d), (n) => Progress.queueDepth(flowKey, n))
    const writerGone = yield* Deferred.make<void>()
    // next offset to read per partition, acknowledged but not yet committed
    const pending = yield* Ref.make<Offsets>(new Map())
    // sessions that fail before delivering anything (a broker down, a batch no codec can read)
    // are one run of failures; the first batch delivered ends it
    const streak = yield* FailureStreak.make(`reading from cluster '${ctx.settings.source}'`)
    const notes = yield* TaskNotes
    // Per partition, how often its position was reset (empty until one is): a batch fetched
    // before a reset must not move the position of its partition afterwards.
    const generations = new Map<string, number>()
    // Ownership epoch: moves on each time the consumer gives up its partitions in a rebalance.
    // Batches of an earlier epoch are neither written nor acknowledged: their partitions may
    // belong to another member now, which reads them again from the committed position.
    let epoch = 0
    // positions that left their log, as decided (outlives sessions: a partition stopped per
    // auto.offset.reset = none stays stopped, and is reported once)
    const gaps = new Map<string, GapDecision>()
    const reset = ctx.sourceConsumerSettings.autoOffsetReset

    const generationOf = (topic: string, partition: number): number =>
      generations.size === 0 ? 0 : generations.get(topicPartitionKey(topic, partition)) ?? 0

    const ackOf = (b: FetchedBatch, generation: number, metadata: string | null, batchEpoch: number, held: number): Effect.Effect<void> => {
      const last = b.records[b.records.length - 1]
      const next = last === undefined
        ? undefined
        : { topic: b.topic, partition: b.partition, offset: (BigInt(last.offset) + 1n).toString(), metadata }
      return Effect.zipRight(
        next === undefined ? Effect.void : Ref.update(pending, (m) => {
          // fetched before its partition's position was reset: its offset no longer counts
          if (generations.size !== 0 && generation !== generationOf(b.topic, b.partition)) return m
          // fetched while the partition was ours, acknowledged after we gave it up: not ours to commit
          if (batchEpoch !== epoch) return m
          const key = topicPartitionKey(b.topic, b.partition)
          const prev = m.get(key)
          // the largest acknowledged offset is safe to commit: writes are in order per partition
          if (prev === undefined || BigInt(prev.offset) < BigInt(next.offset)) m.set(key, next)
          return m
        }),
        Effect.zipRight(budget.release(held), moveInFlight(-1))
      )
    }

    /** Replication of the partition goes on at `offset`: that is the position to commit, whatever came before. */
    const resetTo = (topic: string, partition: number, offset: bigint, metadata: string | null) =>
      Ref.update(pending, (m) => {
        const key = topicPartitionKey(topic, partition)
        generations.set(key, (generations.get(key) ?? 0) + 1)
        m.set(key, { topic, partition, offset: offset.toString(), metadata })
        return m
      })

    /** The one ERROR line, the metrics and the task state of a position that left its log. */
    const report = (plan: GapPlan, topic: string, partition: number) =>
      Effect.gen(function*() {
        yield* Effect.logError(plan.message)
        yield* Metric.incrementBy(forSourcePartition(lostRecords, ctx.name, topic, partition), Number(plan.lostRecords))
        yield* Metric.increment(Metric.tagged(forSourcePartition(gapEvents, ctx.name, topic, partition), "cause", plan.cause))
        const stopped = plan.resumeAt === undefined
        if (stopped) yield* Metric.set(forSourcePartition(stoppedPartitions, ctx.name, topic, partition), 1)
        if (stopped) yield* Progress.partitionStopped(flowKey, topic, remoteOf(topic), partition, true, yield* Clock.currentTimeMillis)
        yield* notes.lostRange({
          at: yield* Clock.currentTimeMillis,
          topic,
          partition,
          cause: plan.cause,
          ...(plan.lost !== undefined ? { first: plan.lost.first.toString(), last: plan.lost.last.toString() } : {}),
          records: Number(plan.lostRecords),
          ...(plan.resumeAt !== undefined ? { resumedAt: plan.resumeAt.toString() } : {}),
          stopped,
          message: plan.message
        })
      })

    const gapInput = (topic: string, partition: number, position: bigint, logStart: bigint, logEnd: bigint, topicIdsKnown: boolean) => ({
      cluster: ctx.settings.source,
      topic,
      partition,
      position,
      logStart,
      logEnd,
      reset,
      topicIdsKnown,
      group: ctx.progressGroupId
    })

    const batches = Stream.fromQueue(queue, { maxChunkSize: QUEUE_CAPACITY }).pipe(
      // fenced: batches of partitions given up in a rebalance are dropped here, once per chunk
      Stream.mapChunksEffect((chunk) => {
        if (Chunk.every(chunk, (b) => b.epoch === epoch)) return Effect.succeed(chunk)
        const live = Chunk.filter(chunk, (b) => b.epoch === epoch)
        let dropped = 0
        for (const b of chunk) if (b.epoch !== epoch) dropped += b.held
        return Effect.as(Effect.zipRight(budget.release(dropped), moveInFlight(live.length - chunk.length)), live)
      }),
      Stream.ensuring(Deferred.succeed(writerGone, undefined))
    )

    // everything handed over was acknowledged, or nobody is left to acknowledge it
    const awaitDrained = Effect.raceFirst(
      inFlight.changes.pipe(Stream.takeUntil((n) => n <= 0), Stream.runDrain),
      Deferred.await(writerGone)
    )

    // The topic id of every position is also kept on the TARGET, in a group of the same name
    // (offset = the source position, metadata = its topic id, per remote partition): Kafka
    // deletes a group's offsets of a deleted topic, so a source topic deleted and recreated
    // while the replicator was stopped leaves no trace in the progress group itself.
    const remoteOf = (topic: string) => ctx.policy.formatRemoteTopic(ctx.settings.source, topic)
    const readerScope = yield* Effect.scope
    /** An admin client connected on first use and kept for the reader's lifetime (a failed connect is tried again next time). */
    const lazyAdmin = (connection: ConnectionSettings) =>
      Effect.gen(function*() {
        const connecting = yield* Effect.makeSemaphore(1)
        let client: KafkaAdmin | undefined
        return connecting.withPermits(1)(Effect.suspend(() =>
          client !== undefined ? Effect.succeed(client) : kafka.admin(connection).pipe(
            Scope.extend(readerScope),
            Effect.tap((a) => {
              client = a
            })
          )
        ))
      })
    const sourceAdmin = yield* lazyAdmin(ctx.sourceAdmin)
    const targetAdmin = yield* lazyAdmin(ctx.targetAdmin)
    // topic ids not yet recorded on the target (a failed write is tried again with the next commit)
    const unmarked = new Map<string, PendingOffset>()
    let markFailing = false

    /** Records on the target the topic ids of these positions (of the session's `topics`); never fails. */
    const markOnTarget = (offsets: Iterable<PendingOffset>, topics: ReadonlySet<string>) =>
      Effect.gen(function*() {
        for (const o of offsets) if (o.metadata !== null) unmarked.set(topicPartitionKey(o.topic, o.partition), o)
        const batch = [...unmarked.values()].filter((o) => topics.has(o.topic))
        unmarked.clear()
        if (batch.length === 0) return
        const written = yield* targetAdmin.pipe(
          Effect.flatMap((a) =>
            a.commitGroupOffsets(
              ctx.progressGroupId,
              batch.map((o) => ({ topic: remoteOf(o.topic), partition: o.partition, offset: o.offset, metadata: o.metadata }))
            )
          ),
          Effect.timeout(MARK_TIMEOUT),
          Effect.either
        )
        if (written._tag === "Left") {
          for (const o of batch) {
            const key = topicPartitionKey(o.topic, o.partition)
            if (!unmarked.has(key)) unmarked.set(key, o)
          }
          // once per failure streak at WARN (it is retried with every commit), then DEBUG
          const message = `${ctx.name}: recording source topic ids in group ${ctx.progressGroupId} on cluster '${ctx.settings.target}' failed, ` +
            `tried again with every commit (our user there needs READ on that group): ${written.left.message}`
          yield* markFailing ? Effect.logDebug(message) : Effect.logWarning(message)
          markFailing = true
        } else if (markFailing) {
          markFailing = false
          yield* Effect.logInfo(`${ctx.name}: source topic ids are recorded in group ${ctx.progressGroupId} on cluster '${ctx.settings.target}' again`)
        }
      })

    // Java MirrorMaker 2's positions (read where a partition has no progress of ours) and, if
    // asked for, ours written back in its format (see ConnectOffsets.ts)
    const javaMm2 = yield* ConnectOffsets.forFlow(ctx, targetAdmin)

    /**
     * Before a session reads: the topic ids now, and what to do with every partition whose
     * position belongs to a topic that was deleted and recreated since (its topic id differs).
     * The position is the acknowledged one, else the committed one, else (Kafka deleted the
     * offsets with the topic) the one recorded on the target. With `auto.offset.reset = none`,
     * every other partition must already have progress.
     */
    const checkPositions = (topics: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const admin = yield* sourceAdmin
        const ids = yield* admin.topicIds(topics)
        const committed = yield* admin.fetchGroupOffsets(ctx.progressGroupId, topics)
        const sourceOfRemote = new Map(topics.map((t) => [remoteOf(t), t]))
        const recorded = new Map<string, PendingOffset>()
        // best effort: without it only a recreation while stopped goes unnoticed, so a target that
        // refuses or cannot answer (our user has no ACL for the group there) never holds up replication
        const onTarget = yield* Effect.flatMap(targetAdmin, (a) => a.fetchGroupOffsets(ctx.progressGroupId, [...sourceOfRemote.keys()])).pipe(
          Effect.timeout(MARK_TIMEOUT),
          Effect.catchAll((e) =>
            Effect.as(
              Effect.logWarning(
                `${ctx.name}: cannot read the source topic ids recorded in group ${ctx.progressGroupId} on cluster ` +
                  `'${ctx.settings.target}' (${e.message}); a source topic deleted and recreated while effect-mm2 was stopped ` +
                  `would not be noticed now (our user there needs READ and DESCRIBE on that group)`
              ),
              []
            )
          )
        )
        for (const m of onTarget) {
          const topic = sourceOfRemote.get(m.topic)
          if (topic !== undefined && BigInt(m.offset) >= 0n && topicIdOf(m.metadata) !== undefined) {
            recorded.set(topicPartitionKey(topic, m.partition), { topic, partition: m.partition, offset: m.offset, metadata: m.metadata ?? null })
          }
        }
        const acknowledged = yield* Ref.get(pending)
        const startAt: Array<TopicPartitionOffset> = []
        const paused: Array<{ topic: string; partition: number }> = []
        const missing: Array<string> = []
        // partitions without progress of ours: Java MM2's position, if it has one, else auto.offset.reset
        const unstarted: Array<{ readonly topic: string; readonly partition: number }> = []
        const toRecord: Array<PendingOffset> = []
        const logs = new Map<string, ReadonlyMap<number, { low: string; high: string }>>()
        for (const c of committed) {
          const key = topicPartitionKey(c.topic, c.partition)
          const progress = acknowledged.get(key) ?? (BigInt(c.offset) >= 0n ? { ...c, metadata: c.metadata ?? null } : undefined)
          const p = progress ?? recorded.get(key)
          const decided = gaps.get(key)
          if (p !== undefined && decided !== undefined && decided.position === p.offset && decided.action._tag === "Pause") {
            paused.push({ topic: c.topic, partition: c.partition })
            continue
          }
          const was = topicIdOf(p?.metadata)
          const now = ids.get(c.topic)
          if (p === undefined || now === undefined || was === now || (progress !== undefined && was === undefined)) {
            if (progress === undefined) {
              // no progress: auto.offset.reset decides (a recorded position of this very topic means
              // its progress was deleted or expired, not that the topic changed)
              unstarted.push({ topic: c.topic, partition: c.partition })
            } else if (now !== undefined) {
              // progress from before topic ids were kept, or set by hand: it belongs to the topic as it is now
              if (was === undefined && !acknowledged.has(key)) {
                yield* Ref.update(pending, (m) => m.set(key, { ...progress, metadata: progressMetadata(now) }))
              }
              if (topicIdOf(recorded.get(key)?.metadata) !== now) toRecord.push({ ...progress, metadata: progressMetadata(now) })
            }
            continue
          }
          // the topic id changed: deleted and recreated
          let log = logs.get(c.topic)
          if (log === undefined) logs.set(c.topic, log = new Map((yield* admin.fetchTopicOffsets(c.topic)).map((o) => [o.partition, o])))
          const offsets = log.get(c.partition)
          const plan = offsets === undefined || was === undefined ? undefined : planGap({
            ...gapInput(c.topic, c.partition, BigInt(p.offset), BigInt(offsets.low), BigInt(offsets.high), true),
            recreated: { from: was, to: now }
          })
          if (plan === undefined) continue
          yield* report(plan, c.topic, c.partition)
          if (plan.resumeAt === undefined) {
            gaps.set(key, { position: p.offset, action: PAUSE })
            paused.push({ topic: c.topic, partition: c.partition })
          } else {
            gaps.set(key, { position: p.offset, action: SEEK(plan.resumeAt) })
            startAt.push({ topic: c.topic, partition: c.partition, offset: plan.resumeAt.toString() })
            yield* resetTo(c.topic, c.partition, plan.resumeAt, progressMetadata(now))
          }
        }
        if (unstarted.length > 0) {
          const java = yield* javaMm2.javaPositions
          let resumed = 0
          for (const u of unstarted) {
            const last = java.get(topicPartitionKey(u.topic, u.partition))
            if (last === undefined || last < 0n) {
              missing.push(`${u.topic}-${u.partition}`)
              continue
            }
            // Java stores the last offset it replicated; committed at once like every startAt position
            startAt.push({ topic: u.topic, partition: u.partition, offset: (last + 1n).toString() })
            yield* resetTo(u.topic, u.partition, last + 1n, progressMetadata(ids.get(u.topic)))
            resumed++
          }
          yield* javaMm2.resumed(resumed)
        }
        if (reset === "none" && missing.length > 0) {
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
        yield* markOnTarget(toRecord, new Set(topics))
        return { ids, startAt, paused }
      })

    /**
     * The broker says a session's fetch position is out of range. Same topic: report what was
     * never replicated and go on per auto.offset.reset. A recreated topic: end the session (the
     * next one checks every partition of it, see checkPositions).
     */
    const outOfRange = (ids: ReadonlyMap<string, string>, recreated: Deferred.Deferred<string>) =>
    (p: TopicPartitionOffset): Effect.Effect<OutOfRangeAction> =>
      Effect.gen(function*() {
        const key = topicPartitionKey(p.topic, p.partition)
        const decided = gaps.get(key)
        // the same position again (a rejoin re-read the committed offset): the same answer, reported once
        if (decided !== undefined && decided.position === p.offset) return decided.action
        const admin = yield* sourceAdmin
        const was = ids.get(p.topic)
        const now = (yield* admin.topicIds([p.topic])).get(p.topic)
        if (was !== undefined && now !== undefined && was !== now) {
          yield* Deferred.succeed(recreated, p.topic)
          return PAUSE
        }
        const offsets = (yield* admin.fetchTopicOffsets(p.topic)).find((o) => o.partition === p.partition)
        const plan = offsets === undefined
          ? undefined
          : planGap(gapInput(p.topic, p.partition, BigInt(p.offset), BigInt(offsets.low), BigInt(offsets.high), was !== undefined))
        if (plan === undefined) {
          // in range again (e.g. a new leader that caught up): fetch it again, a moment later
          yield* Effect.sleep(OUT_OF_RANGE_RECHECK)
          return RETRY
        }
        yield* report(plan, p.topic, p.partition)
        const action = plan.resumeAt === undefined ? PAUSE : SEEK(plan.resumeAt)
        gaps.set(key, { position: p.offset, action })
        if (plan.resumeAt !== undefined) yield* resetTo(p.topic, p.partition, plan.resumeAt, progressMetadata(was))
        return action
      }).pipe(
        Effect.catchAll((e) =>
          Effect.zipRight(
            streak.failed(`checking the out-of-range position ${p.offset} of ${p.topic}-${p.partition}: ${e.message}`),
            Effect.as(Effect.sleep(OUT_OF_RANGE_RECHECK), RETRY)
          )
        )
      )

    /** One consumer over `topics`; ends (succeeds) when a topic turns out to be recreated, to start over. */
    const oneSession = (topics: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const settings = ctx.sourceConsumerSettings
        const { ids, startAt, paused } = yield* checkPositions(topics)
        // commit metadata per topic, looked up once per batch
        const metadataOf = new Map(topics.map((t) => [t, progressMetadata(ids.get(t))]))
        const sessionTopics = new Set(topics)
        const recreated = yield* Deferred.make<string>()
        const consumer = yield* kafka.consumer(ctx.sourceConsumer, {
          groupId: ctx.progressGroupId,
          topics,
          fromBeginning: settings.autoOffsetReset !== "latest",
          partitionsConsumedConcurrently: 8,
          readCommitted: settings.readCommitted,
          ...(settings.maxPartitionFetchBytes !== undefined ? { maxBytesPerPartition: settings.maxPartitionFetchBytes } : {}),
          // what one round of fetches decodes: the other half of the budget
          fetchBudgetBytes: bufferBytes / 2,
          maxWaitTimeMs: Math.max(10, Math.min(ctx.settings.consumerPollTimeoutMs, 5_000)),
          onOffsetOutOfRange: outOfRange(ids, recreated),
          startAt,
          paused,
          onRevoking: () => revoke,
          onAssigned: (assigned, generation) => assign(assigned, generation)
        })

        // Offsets taken for a commit that fails or is interrupted go back, unless newer ones
        // arrived meanwhile: they are committed later, never dropped. Positions of topics this
        // session does not read (one that was deleted) stay: the broker would refuse them, and
        // if the topic comes back, recreated, they tell (see checkPositions).
        const commitWith = (send: (offsets: ReadonlyArray<PendingOffset>) => Effect.Effect<void, KafkaError>) =>
          Effect.uninterruptibleMask((restore) =>
            Effect.gen(function*() {
              const offsets = yield* Ref.modify(pending, (m): [Offsets, Offsets] => {
                const mine: Offsets = new Map()
                const others: Offsets = new Map()
                for (const [k, v] of m) (sessionTopics.has(v.topic) ? mine : others).set(k, v)
                return [mine, others]
              })
              if (offsets.size === 0) return true
              const exit = yield* Effect.exit(restore(send([...offsets.values()])))
              if (Exit.isSuccess(exit)) {
                yield* restore(markOnTarget(offsets.values(), sessionTopics))
                // Java MM2 resumes where we stopped (`effect-mm2.connect.offsets.emit.enabled`)
                yield* restore(javaMm2.emit([...offsets.values()]))
                return true
              }
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
        // between giving partitions up in a rebalance and being assigned again
        let revoking = false
        // completed when batches waiting for room in the queue must give up (a revocation)
        let fence = yield* Deferred.make<void>()

        /**
         * The consumer is about to rejoin its group, and the partitions it owns may go to another
         * member. Before the rejoin (which waits for this), so before any new owner can start:
         * hand nothing more over, let the writer finish what it has, commit, and move the epoch
         * on, so that whatever is still unwritten (the drain timed out) is dropped, not written.
         * With all members doing so, no two processes ever write one partition at the same time,
         * and a rebalance re-reads nothing.
         */
        const revoke = Effect.gen(function*() {
          if (stopping) return
          revoking = true
          yield* Deferred.succeed(fence, undefined)
          const inFlightNow = yield* SubscriptionRef.get(inFlight)
          const drained = yield* bounded(awaitDrained, REVOKE_DRAIN_TIMEOUT)
          epoch++
          if (Option.isNone(drained)) {
            yield* Effect.logWarning(
              `${ctx.name}: rebalance: the writer did not finish ${yield* SubscriptionRef.get(inFlight)} batches within ` +
                `${Duration.format(REVOKE_DRAIN_TIMEOUT)}; they are dropped here and read again by their partitions' next owner`
            )
          }
          const committed = Option.getOrElse(yield* bounded(commit, FINAL_COMMIT_TIMEOUT), () => false)
          if (!committed) yield* Effect.logWarning(`${ctx.name}: rebalance: progress not committed; acknowledged records will be re-read by their next owner`)
          yield* Effect.logDebug(`${ctx.name}: rebalance: partitions released (${inFlightNow} batches were in flight)`)
        })

        /** The group's new assignment: positions of partitions now owned elsewhere are no longer ours to commit. */
        const assign = (assigned: ReadonlyArray<AssignedPartitions>, generation: number) =>
          Effect.gen(function*() {
            const owned = new Set(assigned.flatMap((a) => a.partitions.map((p) => topicPartitionKey(a.topic, p))))
            yield* Ref.update(pending, (m) => {
              for (const [k, v] of m) if (sessionTopics.has(v.topic) && !owned.has(k)) m.delete(k)
              return m
            })
            fence = yield* Deferred.make<void>()
            revoking = false
            const names = assigned.flatMap((a) => a.partitions.map((p) => `${a.topic}-${p}`))
            const shown = names.slice(0, 20).join(", ")
            yield* Effect.logInfo(
              `${ctx.name}: this process replicates ${names.length} source partitions (group generation ${generation})` +
                (names.length > 0 ? `: ${shown}${names.length > 20 ? `, ... (${names.length - 20} more)` : ""}` : "")
            )
          })
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

        const remoteNames = new Map(topics.map((t) => [t, remoteOf(t)]))
        // the end offsets of partitions this session does not fetch from (nothing new, or paused)
        yield* Effect.forkScoped(EndOffsets.follow(sourceAdmin, {
          flow: flowKey,
          topics,
          remoteOf,
          progressGroupId: ctx.progressGroupId,
          reset
        }))
        const observe = (batch: FetchedBatch) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Progress.fetched(
              flowKey,
              Progress.sampleOf(batch, remoteNames.get(batch.topic) ?? remoteOf(batch.topic), 0),
              BigInt(batch.highWatermark),
              now
            ))
        yield* consumer.start((batch) => {
          // never handed over (stopping, or giving partitions up): not acknowledged, so re-read
          if (stopping || revoking) return Effect.void
          const batchEpoch = epoch
          // room in the byte budget, then in the queue; bytes taken go back if the batch is never
          // handed over (the gap between the two waits cannot be interrupted)
          const handOver = Effect.uninterruptibleMask((restore) =>
            Effect.flatMap(restore(budget.acquire(ByteBudget.batchBytes(batch))), (held) =>
              restore(Queue.offer(queue, {
                batch,
                ack: ackOf(batch, generationOf(batch.topic, batch.partition), metadataOf.get(batch.topic) ?? null, batchEpoch, held),
                epoch: batchEpoch,
                held
              })).pipe(Effect.onInterrupt(() => budget.release(held))))
          )
          return Effect.zipRight(
            Effect.zipRight(Effect.zipRight(streak.healthy, observe(batch)), moveInFlight(1)),
            handOver.pipe(
              Effect.onInterrupt(() => moveInFlight(-1)),
              Effect.raceFirst(Deferred.await(stopped)),
              Effect.raceFirst(Deferred.await(fence))
            )
          )
        })
        // a flow may replicate thousands of topics: name the first ones, count the rest
        const shown = topics.slice(0, 20).join(", ")
        yield* Effect.logInfo(`${ctx.name} replicating ${topics.length} topics: ${shown}${topics.length > 20 ? `, ... (${topics.length - 20} more)` : ""}`)
        // positions reset at start are committed at once: a rejoin before the next flush would
        // otherwise go back to the old committed offset
        if (startAt.length > 0) yield* commit
        yield* commit.pipe(
          Effect.repeat(Schedule.spaced(Duration.millis(ctx.settings.offsetFlushIntervalMs))),
          Effect.forkScoped
        )
        const topic = yield* Effect.raceFirst(consumer.crashed, Deferred.await(recreated))
        yield* Effect.logInfo(
          `${ctx.name}: source topic ${topic} was deleted and recreated while it was replicated; starting the reader again to check each of its partitions`
        )
      })

    const session = (topics: ReadonlyArray<string>) =>
      Effect.scoped(oneSession(topics)).pipe(
        Effect.forever,
        Effect.tapError((e) => (e.retriable ? streak.failed(e.message) : Effect.void))
      )

    return { batches, session }
  })

  static readonly layer = Layer.scoped(SourceReader, SourceReader.make)
}
