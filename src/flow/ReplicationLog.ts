/**
 * What the target acknowledged, batch by batch: for every written batch, the source offsets it
 * carried and the target offset the broker gave its first record (records of one batch land
 * contiguously, so record i sits at targetBaseOffset + i). Offset syncs and checkpoints are built
 * on this. Subscribers get every acknowledged batch through a bounded PubSub, so a slow
 * subscriber slows replication down instead of losing mappings.
 */
import { Context, Effect, Layer, PubSub, type Queue, Ref, type Scope } from "effect"
import type { KafkaRecord } from "../kafka/KafkaRecord.js"

export interface AckedBatch {
  readonly sourceTopic: string
  readonly targetTopic: string
  readonly partition: number
  /** the records as fetched (their `offset` is the source offset) */
  readonly records: ReadonlyArray<KafkaRecord>
  /** target offset of records[0] */
  readonly targetBaseOffset: bigint
}

/** The newest mapping known for one source partition. */
export interface PartitionPosition {
  readonly sourceTopic: string
  readonly targetTopic: string
  readonly partition: number
  /** offset of the last acknowledged source record */
  readonly sourceOffset: bigint
  /** where that record landed on the target */
  readonly targetOffset: bigint
}

export const sourceOffsetAt = (batch: AckedBatch, i: number): bigint => BigInt(batch.records[i]!.offset)
export const targetOffsetAt = (batch: AckedBatch, i: number): bigint => batch.targetBaseOffset + BigInt(i)

const positionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`

export class ReplicationLog extends Context.Tag("effect-mm2/ReplicationLog")<ReplicationLog, {
  readonly publish: (batches: ReadonlyArray<AckedBatch>) => Effect.Effect<void>
  /** every batch acknowledged from now on, in acknowledgement order */
  readonly subscribe: Effect.Effect<Queue.Dequeue<AckedBatch>, never, Scope.Scope>
  /** the last acknowledged position of every source partition seen so far */
  readonly positions: Effect.Effect<ReadonlyArray<PartitionPosition>>
}>() {
  static readonly make = (capacity = 1024) =>
    Effect.gen(function*() {
      const hub = yield* Effect.acquireRelease(PubSub.bounded<AckedBatch>(capacity), PubSub.shutdown)
      const latest = yield* Ref.make(new Map<string, PartitionPosition>())
      return {
        publish: (batches: ReadonlyArray<AckedBatch>) =>
          Effect.zipRight(
            Ref.update(latest, (m) => {
              for (const b of batches) {
                const last = b.records.length - 1
                if (last < 0) continue
                m.set(positionKey(b.sourceTopic, b.partition), {
                  sourceTopic: b.sourceTopic,
                  targetTopic: b.targetTopic,
                  partition: b.partition,
                  sourceOffset: sourceOffsetAt(b, last),
                  targetOffset: targetOffsetAt(b, last)
                })
              }
              return m
            }),
            PubSub.publishAll(hub, batches)
          ),
        subscribe: PubSub.subscribe(hub),
        positions: Effect.map(Ref.get(latest), (m) => [...m.values()])
      }
    })

  static readonly layer = Layer.scoped(ReplicationLog, ReplicationLog.make())
}
