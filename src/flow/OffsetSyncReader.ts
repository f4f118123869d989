/**
 * The offset syncs of one flow, read from its offset syncs topic (on the source or the target,
 * per `offset-syncs.topic.location`) from the start and then followed, kept per source
 * partition as a translation history (OffsetTranslation.addSync). Undecodable records are
 * skipped with a warning. Used by the checkpoints task and by `translate-offsets`.
 */
import { Effect, Either, Option, Ref } from "effect"
import type { FlowSettings } from "../config/Mm2Config.js"
import { topicPartitionKey } from "../kafka/KafkaRecord.js"
import { followTopic } from "../kafka/TopicFollower.js"
import * as OffsetSync from "../wire/OffsetSync.js"
import type { FlowContextShape } from "./FlowContext.js"
import { addSync } from "./OffsetTranslation.js"
import type { OffsetPair } from "./ReplicationLog.js"

export const followOffsetSyncs = (s: FlowSettings, ctx: FlowContextShape, role: string) =>
  Effect.gen(function*() {
    const topic = ctx.offsetSyncsTopic
    const syncs = yield* Ref.make(new Map<string, ReadonlyArray<OffsetPair>>())
    const connection = s.offsetSyncsTopicLocation === "target" ? s.clients.targetConsumer : s.clients.sourceConsumer
    const reader = yield* followTopic(connection, topic, `${s.name}.${role}`, (r) => {
      const d = r.key === null || r.value === null ? undefined : Either.getRight(OffsetSync.decode(r.key, r.value))
      if (d === undefined || Option.isNone(d)) return Effect.logWarning(`skipping an undecodable record at offset ${r.offset} of ${topic}`)
      const { key, value } = d.value
      const tp = topicPartitionKey(key.topic, key.partition)
      return Ref.update(syncs, (m) => m.set(tp, addSync(m.get(tp) ?? [], { source: value.upstreamOffset, target: value.offset })))
    })
    return { ...reader, syncs: Ref.get(syncs) }
  })
