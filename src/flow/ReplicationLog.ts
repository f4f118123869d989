/**
 * Where each source partition's records landed on the target, as offsets only: for every
 * partition, the newest acknowledged record and the start of the run of records leading up to
 * it that map one to one (source offset s sits at target offset s - run.source + run.target).
 * Offset syncs and checkpoints are built on this.
 *
 * Recording never blocks the writer: the state is a SubscriptionRef, and a reader that falls
 * behind sees the newest state, not every step. The log belongs to the herder, so it outlives a
 * restart of the replication task and is shared with the duties built on it (offset syncs). A gap in the source offsets (compacted or
 * aborted records, control markers) or in the target's (a re-sent batch after a restart) starts
 * a new run, so a run is always exact.
 */
import { Context, Effect, HashMap, Layer, Option, Stream, SubscriptionRef } from "effect"
import { type KafkaRecord, topicPartitionKey } from "../kafka/KafkaRecord.js"

/** One written batch as the writer reports it (its records are not kept here). */
export interface AckedBatch {
  readonly sourceTopic: string
  readonly targetTopic: string
  readonly partition: number
  /** the records as fetched (their `offset` is the source offset) */
  readonly records: ReadonlyArray<KafkaRecord>
  /** target offset of records[0]; -1 when unknown (acks = 0) */
  readonly targetBaseOffset: bigint
}

export interface OffsetPair {
  readonly source: bigint
  readonly target: bigint
}

/** The newest mapping known for one source partition. */
export interface PartitionMapping {
  readonly sourceTopic: string
  readonly targetTopic: string
  readonly partition: number
  /** first record of the current one-to-one run */
  readonly run: OffsetPair
  /**
   * The starts of the latest runs, oldest first, ending with `run` (at most RECENT_RUNS): each is
   * a point where translation must restart. `runsStarted` counts all of them, so a reader can
   * tell how many it has not seen.
   */
  readonly recentRuns: ReadonlyArray<OffsetPair>
  readonly runsStarted: number
  /** the last acknowledged record (same run) */
  readonly last: OffsetPair
  /** how many batches of this partition were recorded: a reader can tell it skipped some */
  readonly batches: number
}

/** `run`/`last` as the last acknowledged positions, for readers that need only those. */
export interface PartitionPosition {
  readonly sourceTopic: string
  readonly targetTopic: string
  readonly partition: number
  /** offset of the last acknowledged source record */
  readonly sourceOffset: bigint
  /** where that record landed on the target */
  readonly targetOffset: bigint
}

/** Source offset translated within the mapping's run, if it lies there. */
/** How many run starts a mapping remembers (offsets only). */
export const RECENT_RUNS = 64

export const translate = (m: PartitionMapping, sourceOffset: bigint): bigint | undefined =>
  sourceOffset >= m.run.source && sourceOffset <= m.last.source ? m.run.target + (sourceOffset - m.run.source) : undefined

/** Folds one acknowledged batch into its partition's mapping. O(1) unless the batch has gaps. */
export const advance = (prev: PartitionMapping | undefined, b: AckedBatch): PartitionMapping | undefined => {
  const n = b.records.length
  if (n === 0 || b.targetBaseOffset < 0n) return prev
  const first = BigInt(b.records[0]!.offset)
  const lastSource = BigInt(b.records[n - 1]!.offset)
  const last = { source: lastSource, target: b.targetBaseOffset + BigInt(n - 1) }
  const continues = prev !== undefined && prev.targetTopic === b.targetTopic &&
    prev.last.source + 1n === first && prev.last.target + 1n === b.targetBaseOffset
  const started: Array<OffsetPair> = continues ? [] : [{ source: first, target: b.targetBaseOffset }]
  if (lastSource - first !== BigInt(n - 1)) {
    // rare (compacted or transactional source): every gap inside the batch starts a run
    for (let i = 1; i < n; i++) {
      const offset = BigInt(b.records[i]!.offset)
      if (BigInt(b.records[i - 1]!.offset) + 1n !== offset) started.push({ source: offset, target: b.targetBaseOffset + BigInt(i) })
    }
  }
  const recentRuns = started.length === 0
    ? prev!.recentRuns
    : [...(prev?.recentRuns ?? []), ...started].slice(-RECENT_RUNS)
  return {
    sourceTopic: b.sourceTopic,
    targetTopic: b.targetTopic,
    partition: b.partition,
    run: recentRuns[recentRuns.length - 1]!,
    recentRuns,
    runsStarted: (prev?.runsStarted ?? 0) + started.length,
    last,
    batches: (prev?.batches ?? 0) + 1
  }
}

export class ReplicationLog extends Context.Tag("effect-mm2/ReplicationLog")<ReplicationLog, {
  /** the writer reports acknowledged batches, in acknowledgement order; never blocks */
  readonly record: (batches: ReadonlyArray<AckedBatch>) => Effect.Effect<void>
  /** the newest mapping of every source partition seen so far, by `topicPartitionKey` */
  readonly mappings: Effect.Effect<HashMap.HashMap<string, PartitionMapping>>
  /** the current mappings, then each newer state (intermediate states may be skipped) */
  readonly changes: Stream.Stream<HashMap.HashMap<string, PartitionMapping>>
  /** the last acknowledged position of every source partition seen so far */
  readonly positions: Effect.Effect<ReadonlyArray<PartitionPosition>>
}>() {
  static readonly make = Effect.map(
    SubscriptionRef.make(HashMap.empty<string, PartitionMapping>()),
    (state) =>
      ReplicationLog.of({
        record: (batches) =>
          batches.length === 0 ? Effect.void : SubscriptionRef.update(state, (m) => {
            let next = m
            for (const b of batches) {
              const key = topicPartitionKey(b.sourceTopic, b.partition)
              const mapping = advance(Option.getOrUndefined(HashMap.get(next, key)), b)
              if (mapping !== undefined) next = HashMap.set(next, key, mapping)
            }
            return next
          }),
        mappings: SubscriptionRef.get(state),
        // a sliding buffer of one: a slow reader skips states instead of queueing them all
        changes: state.changes.pipe(Stream.buffer({ capacity: 1, strategy: "sliding" })),
        positions: Effect.map(SubscriptionRef.get(state), (m) =>
          [...HashMap.values(m)].map((p) => ({
            sourceTopic: p.sourceTopic,
            targetTopic: p.targetTopic,
            partition: p.partition,
            sourceOffset: p.last.source,
            targetOffset: p.last.target
          })))
      })
  )

  static readonly layer = Layer.effect(ReplicationLog, ReplicationLog.make)
}
