/**
 * Where a consumer group resumes when it moves between the clusters of a flow, per partition,
 * from the flow's offset syncs: failover (source -> target) and failback (target -> source, what
 * KIP-1098 proposes and MM2 lacks). Never past the group's true position; each answer says how
 * many records resuming there may read again. `applyTranslation` writes the answers into the
 * group where it moves, with the safety rules of the group offset sync. Used by the
 * `translate-offsets` command and by programs embedding effect-mm2.
 */
import { Data, Effect } from "effect"
import type * as Mm2Config from "../config/Mm2Config.js"
import { FlowContext } from "../flow/FlowContext.js"
import { followOffsetSyncs } from "../flow/OffsetSyncReader.js"
import { reverseTranslationBounds, translationBounds } from "../flow/OffsetTranslation.js"
import { KafkaClient } from "../kafka/KafkaClient.js"
import type { KafkaError } from "../kafka/KafkaError.js"
import { topicOfKey, topicPartitionKey } from "../kafka/KafkaRecord.js"

export class UnknownFlow extends Data.TaggedError("UnknownFlow")<{ readonly message: string }> {}

/** `--apply` could not write (the group is active where it moves to). */
export class ApplyRefused extends Data.TaggedError("ApplyRefused")<{ readonly message: string }> {}

export interface TranslatedPartition {
  /** the topic the group consumed (on the cluster it leaves) */
  readonly topic: string
  readonly partition: number
  /** the group's committed offset there */
  readonly fromOffset: bigint
  /** the topic it resumes on (on the cluster it moves to) */
  readonly toTopic: string
  /** where it resumes; undefined when no sync reaches back that far */
  readonly toOffset: bigint | undefined
  /** how many records resuming there may read again at most: 0 = exact */
  readonly maxReread: bigint | undefined
  /** the commit metadata the group committed with */
  readonly metadata: string | null
}

export type Direction = "failover" | "failback"

/**
 * Translates `group`'s committed offsets for flow `source->target` of `settings`: failover reads
 * the group on the source and answers for the target; failback the other way round.
 */
export const translateGroup = (
  settings: Mm2Config.Mm2Settings,
  group: string,
  source: string,
  target: string,
  direction: Direction = "failover"
) =>
  Effect.gen(function*() {
    const herder = settings.herderPairs.find((h) => h.source === source && h.target === target)
    if (herder === undefined) {
      return yield* new UnknownFlow({ message: `${settings.file}: no flow ${source}->${target} (clusters = ${settings.clusters.join(", ")})` })
    }
    const s = herder.settings
    const ctx = yield* FlowContext.make(s)
    const kafka = yield* KafkaClient
    // read to the end once, then let go of the reader
    const known = yield* Effect.scoped(Effect.gen(function*() {
      const reader = yield* followOffsetSyncs(s, ctx, "translate-offsets")
      yield* Effect.raceFirst(reader.caughtUp, reader.crashed)
      return yield* reader.syncs
    }))
    const topics = [...new Set([...known.keys()].map(topicOfKey))]
    if (topics.length === 0) return []
    const remoteOf = (topic: string) => ctx.policy.formatRemoteTopic(source, topic)
    const byRemote = new Map(topics.map((t) => [remoteOf(t), t]))
    const endsOf = (admin: Effect.Effect.Success<ReturnType<typeof kafka.admin>>, names: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const ends = new Map<string, bigint>()
        for (const name of names) {
          for (const p of yield* admin.fetchTopicOffsets(name)) ends.set(topicPartitionKey(name, p.partition), BigInt(p.high))
        }
        return ends
      })
    const byTopic = (a: TranslatedPartition, b: TranslatedPartition) =>
      a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1

    if (direction === "failover") {
      const offsets = yield* Effect.scoped(Effect.flatMap(kafka.admin(s.clients.sourceAdmin), (admin) => admin.fetchGroupOffsets(group, topics)))
      return offsets.flatMap((o): Array<TranslatedPartition> => {
        const x = BigInt(o.offset)
        if (x < 0n) return []
        const bounds = translationBounds(known.get(topicPartitionKey(o.topic, o.partition)) ?? [], x)
        return [{
          topic: o.topic,
          partition: o.partition,
          fromOffset: x,
          toTopic: remoteOf(o.topic),
          toOffset: bounds?.lower,
          maxReread: bounds === undefined ? undefined : bounds.upper - bounds.lower,
          metadata: o.metadata ?? null
        }]
      }).sort(byTopic)
    }

    // failback: the group's position on the remote topics, back to the source topics; past the
    // newest sync the source's log end bounds it
    const offsets = yield* Effect.scoped(
      Effect.flatMap(kafka.admin(s.clients.targetAdmin), (admin) => admin.fetchGroupOffsets(group, [...byRemote.keys()]))
    )
    const ends = yield* Effect.scoped(Effect.flatMap(kafka.admin(s.clients.sourceAdmin), (admin) => endsOf(admin, topics)))
    return offsets.flatMap((o): Array<TranslatedPartition> => {
      const y = BigInt(o.offset)
      const sourceTopic = byRemote.get(o.topic)
      if (y < 0n || sourceTopic === undefined) return []
      const bounds = reverseTranslationBounds(known.get(topicPartitionKey(sourceTopic, o.partition)) ?? [], y)
      const upper = bounds?.upper ?? ends.get(topicPartitionKey(sourceTopic, o.partition))
      return [{
        topic: o.topic,
        partition: o.partition,
        fromOffset: y,
        toTopic: sourceTopic,
        toOffset: bounds?.lower,
        maxReread: bounds === undefined || upper === undefined ? undefined : upper - bounds.lower,
        metadata: o.metadata ?? null
      }]
    }).sort(byTopic)
  })

export interface Applied {
  readonly written: ReadonlyArray<TranslatedPartition>
  /** partitions where the group already stands at or past the answer there (never moved back) */
  readonly ahead: ReadonlyArray<{ readonly row: TranslatedPartition; readonly current: bigint }>
}

/**
 * Writes translated offsets into `group` on `cluster` (the one it moves to). Refused while the
 * group has members there; a partition where the group already stands at or past the answer
 * is left as it is.
 */
export const applyTranslation = (
  settings: Mm2Config.Mm2Settings,
  group: string,
  cluster: string,
  rows: ReadonlyArray<TranslatedPartition>
): Effect.Effect<Applied, KafkaError | ApplyRefused | UnknownFlow, KafkaClient> =>
  Effect.gen(function*() {
    const herder = settings.herderPairs.find((h) => h.source === cluster || h.target === cluster)
    if (herder === undefined) return yield* new UnknownFlow({ message: `${settings.file}: no flow involves cluster ${cluster}` })
    const connection = herder.source === cluster ? herder.settings.clients.sourceAdmin : herder.settings.clients.targetAdmin
    const kafka = yield* KafkaClient
    const admin = yield* kafka.admin(connection)
    const [d] = yield* admin.describeGroups([group])
    if (d !== undefined && d.state !== "Empty" && d.state !== "Dead") {
      return yield* new ApplyRefused({
        message: `consumer group ${group} has ${d.members} active member(s) on ${cluster} (state ${d.state}): ` +
          `stop its consumers there first; nothing was written`
      })
    }
    const current = (yield* admin.fetchOffsetsOfGroups([group], [...new Set(rows.map((r) => r.toTopic))])).offsets.get(group) ?? []
    const now = new Map(current.map((o) => [topicPartitionKey(o.topic, o.partition), BigInt(o.offset)]))
    const written: Array<TranslatedPartition> = []
    const ahead: Array<{ row: TranslatedPartition; current: bigint }> = []
    for (const r of rows) {
      if (r.toOffset === undefined) continue
      const at = now.get(topicPartitionKey(r.toTopic, r.partition))
      if (at !== undefined && at >= r.toOffset) ahead.push({ row: r, current: at })
      else written.push(r)
    }
    yield* admin.commitGroupOffsets(
      group,
      written.map((r) => ({ topic: r.toTopic, partition: r.partition, offset: String(r.toOffset), metadata: r.metadata }))
    )
    return { written, ahead }
  }).pipe(Effect.scoped)

