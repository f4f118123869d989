/**
 * MirrorHeartbeatConnector's duty (spec §9): creates the `heartbeats` topic on the herder's
 * target (one partition, compacted, `heartbeats.topic.replication.factor`) and writes a
 * heartbeat `(source, target, now)` into it every `emit.heartbeats.interval.seconds`, the first
 * one interval after start. Flows replicate these topics (`heartbeats.replication.enabled`), so
 * `primary.heartbeats` on backup shows that, and how fast, primary's data reaches backup.
 */
import { Clock, Duration, Effect, Metric } from "effect"
import { FlowContext } from "../flow/FlowContext.js"
import { KafkaClient } from "../kafka/KafkaClient.js"
import { lastHeartbeat } from "../telemetry/Metrics.js"
import * as Heartbeat from "../wire/Heartbeat.js"
import type { HerderTask } from "./HerderTask.js"
import { createInternalTopic } from "./InternalTopics.js"

export const HeartbeatTask: HerderTask = {
  name: "heartbeats",
  kind: "metadata",
  once: true,
  enabled: (h) => h.heartbeatsEnabled && h.settings.emitHeartbeatsEnabled && h.settings.emitHeartbeatsIntervalSeconds >= 0,
  label: (h) => `heartbeats of ${h.settings.name}`,
  run: (h, healthy) =>
    Effect.gen(function*() {
      const ctx = yield* FlowContext.make(h.settings)
      const kafka = yield* KafkaClient
      const topic = ctx.policy.heartbeatsTopic()
      const admin = yield* kafka.admin(ctx.targetAdmin)
      yield* createInternalTopic(admin, {
        flow: h.settings.name,
        cluster: h.target,
        topic,
        replicationFactor: h.settings.heartbeatsTopicReplicationFactor,
        key: "heartbeats.topic.replication.factor"
      })
      const producer = yield* kafka.producer(ctx.targetProducer, ctx.targetProducerSettings)
      // 0 would spin: a tenth of a second is already far more often than anyone needs
      const interval = Duration.millis(Math.max(h.settings.emitHeartbeatsIntervalSeconds * 1_000, 100))
      const beat = Effect.gen(function*() {
        const now = Math.floor(yield* Clock.currentTimeMillis)
        const { key, value } = Heartbeat.encode({
          sourceClusterAlias: h.source,
          targetClusterAlias: h.target,
          timestamp: BigInt(now)
        })
        yield* producer.send([{ topic, partition: 0, records: [{ key, value, headers: [], timestamp: String(now) }] }])
        yield* Metric.set(Metric.tagged(lastHeartbeat, "flow", h.settings.name), (yield* Clock.currentTimeMillis) / 1_000)
        yield* healthy
      }).pipe(Effect.withSpan("mm2.emitHeartbeat", {
        root: true,
        kind: "producer",
        attributes: { flow: h.settings.name, "messaging.destination.name": topic }
      }))
      return yield* beat.pipe(Effect.delay(interval), Effect.forever)
    }).pipe(Effect.scoped)
}
