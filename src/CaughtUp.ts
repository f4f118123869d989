/**
 * When a flow has caught up, as `Replicator.awaitReady` means it: its committed progress (the
 * source group `effect-mm2.<source>-><target>`, committed only for what the target acknowledged)
 * reached, on every partition of the topics it replicates, the end offset the partition had when
 * this check started. Read from the source cluster, so it needs nothing from inside the flow.
 */
import { Effect, Schedule } from "effect"
import type { FlowSettings } from "./config/Mm2Config.js"
import { FlowContext } from "./flow/FlowContext.js"
import { KafkaClient } from "./kafka/KafkaClient.js"
import { topicPartitionKey } from "./kafka/KafkaRecord.js"
import { shouldReplicateTopic } from "./policy/TopicSelection.js"

/** how often the committed progress is read again (commits come every offset.flush.interval.ms) */
const POLL = "500 millis"

/**
 * Succeeds once `flow` has caught up. Errors (a broker restarting) are retried: this only
 * waits, and the replication task itself reports what is wrong.
 */
export const awaitCaughtUp = (flow: FlowSettings): Effect.Effect<void, never, KafkaClient> =>
  Effect.gen(function*() {
    const ctx = yield* FlowContext.make(flow)
    const admin = yield* (yield* KafkaClient).admin(ctx.sourceAdmin)
    const topics = (yield* admin.listTopics).filter((t) => shouldReplicateTopic(ctx.selection, t))
    // what there was to replicate when we started; empty partitions have nothing to catch up
    const targets = new Map<string, bigint>()
    for (const topic of topics) {
      for (const p of yield* admin.fetchTopicOffsets(topic)) {
        if (BigInt(p.high) > BigInt(p.low)) targets.set(topicPartitionKey(topic, p.partition), BigInt(p.high))
      }
    }
    if (targets.size === 0) return
    // with `latest`, a partition never read starts at its end: nothing to catch up there
    const uncommittedIsCaughtUp = ctx.sourceConsumerSettings.autoOffsetReset === "latest"
    const caughtUp = Effect.map(admin.fetchGroupOffsets(ctx.progressGroupId, topics), (committed) => {
      const at = new Map(committed.map((c) => [topicPartitionKey(c.topic, c.partition), BigInt(c.offset)]))
      return [...targets].every(([key, end]) => {
        const offset = at.get(key) ?? -1n
        return offset < 0n ? uncommittedIsCaughtUp : offset >= end
      })
    })
    yield* caughtUp.pipe(Effect.repeat({ until: (done) => done, schedule: Schedule.spaced(POLL) }))
  }).pipe(
    Effect.scoped,
    Effect.tapError((e) => Effect.zipRight(Effect.logDebug(`readiness check of ${flow.name}: ${e.message}; retrying`), Effect.sleep("1 second"))),
    Effect.eventually
  )
