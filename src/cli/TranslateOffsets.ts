/**
 * `effect-mm2 translate-offsets --config mm2.properties --group G --source primary --target backup`:
 * for a failover, where group G must resume on the target, per partition, from the offset syncs
 * of flow source->target (read from the offset syncs topic) and G's committed offsets on the
 * source. Never past the true position; says how exact each answer is. Changes nothing.
 */
import { Command, Options } from "@effect/cli"
import { Console, Data, Effect } from "effect"
import * as Mm2Config from "../config/Mm2Config.js"
import { FlowContext } from "../flow/FlowContext.js"
import { followOffsetSyncs } from "../flow/OffsetSyncReader.js"
import { translationBounds } from "../flow/OffsetTranslation.js"
import { KafkaClient } from "../kafka/KafkaClient.js"
import * as KafkaJsClient from "../kafka/KafkaJsClient.js"
import { topicOfKey, topicPartitionKey } from "../kafka/KafkaRecord.js"

export class UnknownFlow extends Data.TaggedError("UnknownFlow")<{ readonly message: string }> {}

export interface TranslatedPartition {
  readonly topic: string
  readonly partition: number
  readonly sourceOffset: bigint
  readonly targetTopic: string
  /** where the group resumes on the target; undefined when no sync reaches back that far */
  readonly targetOffset: bigint | undefined
  /** how many records resuming there may read again at most: 0 = exact */
  readonly maxReread: bigint | undefined
}

/** Translates `group`'s committed offsets for flow `source->target` of `settings`. */
export const translateGroup = (settings: Mm2Config.Mm2Settings, group: string, source: string, target: string) =>
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
    const offsets = yield* Effect.scoped(
      Effect.flatMap(kafka.admin(s.clients.sourceAdmin), (admin) => admin.fetchGroupOffsets(group, topics))
    )
    // the target's log ends bound what lies past the newest sync: nothing, when it is the last record
    const ends = new Map<string, bigint>()
    yield* Effect.scoped(Effect.gen(function*() {
      const admin = yield* kafka.admin(s.clients.targetAdmin)
      for (const topic of topics) {
        for (const p of yield* admin.fetchTopicOffsets(ctx.policy.formatRemoteTopic(source, topic))) {
          ends.set(topicPartitionKey(topic, p.partition), BigInt(p.high))
        }
      }
    }))
    return offsets.flatMap((o): Array<TranslatedPartition> => {
      const x = BigInt(o.offset)
      if (x < 0n) return []
      const tp = topicPartitionKey(o.topic, o.partition)
      const bounds = translationBounds(known.get(tp) ?? [], x)
      const end = ends.get(tp)
      const upper = bounds?.upper ?? end
      return [{
        topic: o.topic,
        partition: o.partition,
        sourceOffset: x,
        targetTopic: ctx.policy.formatRemoteTopic(source, o.topic),
        targetOffset: bounds?.lower,
        maxReread: bounds === undefined || upper === undefined ? undefined : upper - bounds.lower
      }]
    }).sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
  })

const exactness = (t: TranslatedPartition): string =>
  t.targetOffset === undefined
    ? "no sync reaches back this far: not translated"
    : t.maxReread === undefined
    ? "unknown re-reads"
    : t.maxReread === 0n
    ? "exact"
    : `re-reads at most ${t.maxReread} records`

export const command = Command.make("translate-offsets", {
  config: Options.text("config").pipe(Options.withAlias("c"), Options.withDescription("the MirrorMaker 2 properties file")),
  group: Options.text("group").pipe(Options.withDescription("the consumer group to translate")),
  source: Options.text("source").pipe(Options.withDescription("alias of the cluster the group consumed on")),
  target: Options.text("target").pipe(Options.withDescription("alias of the cluster it fails over to"))
}, (args) =>
  Effect.gen(function*() {
    const settings = yield* Mm2Config.load(args.config)
    const rows = yield* translateGroup(settings, args.group, args.source, args.target)
    if (rows.length === 0) {
      yield* Console.log(`group ${args.group}: no committed offsets on ${args.source} for topics replicated to ${args.target}`)
      return
    }
    yield* Console.log("topic\tpartition\tsource-offset\ttarget-topic\ttarget-offset\texactness")
    for (const r of rows) {
      yield* Console.log([r.topic, r.partition, r.sourceOffset, r.targetTopic, r.targetOffset ?? "-", exactness(r)].join("\t"))
    }
  }).pipe(Effect.provide(KafkaJsClient.layer))).pipe(
    Command.withDescription(
      "Prints where consumer group --group, committed on --source, must resume on --target after a failover, per partition " +
        "(from the offset syncs; never past its true position), and how exact that is. Changes nothing."
    )
  )
