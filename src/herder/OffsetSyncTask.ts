/**
 * MirrorSourceTask's OffsetSyncWriter (spec §6.3) as a duty of its own: writes offset syncs for
 * the herder's replicated partitions to `mm2-offset-syncs.<target>.internal` (on the source by
 * default, on the target with `offset-syncs.topic.location = target`), created compacted with
 * one partition and `offset-syncs.topic.replication.factor` replicas, in MM2's byte layout.
 *
 * It reads the herder's ReplicationLog (newest state only; it never slows replication), plans
 * the syncs (OffsetSyncPlan.ts) a few times a second, and writes the newest pairs of quiet
 * partitions every `offset.flush.interval.ms`, as MM2 does at each offset commit.
 */
import { Clock, Duration, Effect, HashMap, Metric, Ref } from "effect"
import { FlowContext } from "../flow/FlowContext.js"
import { INITIAL, type PartitionSyncState, plan } from "../flow/OffsetSyncPlan.js"
import { type OffsetPair, ReplicationLog } from "../flow/ReplicationLog.js"
import { KafkaClient } from "../kafka/KafkaClient.js"
import type { PartitionWrite } from "../kafka/KafkaRecord.js"
import * as Metrics from "../telemetry/Metrics.js"
import * as OffsetSync from "../wire/OffsetSync.js"
import type { HerderTask } from "./HerderTask.js"
import { createInternalTopic } from "./InternalTopics.js"

/** How often the log is read: syncs trail replication by at most this (plus a round trip). */
const PLAN_EVERY = Duration.millis(200)

interface Pending {
  readonly topic: string
  readonly partition: number
  readonly pair: OffsetPair
}

export const OffsetSyncTask: HerderTask = {
  name: "offset-syncs",
  kind: "metadata",
  enabled: (h) => h.replicationEnabled && h.settings.emitOffsetSyncsEnabled,
  label: (h) => `offset syncs of ${h.settings.name}`,
  run: (h, healthy) =>
    Effect.gen(function*() {
      const ctx = yield* FlowContext.make(h.settings)
      const kafka = yield* KafkaClient
      const log = yield* ReplicationLog
      const s = h.settings
      const onTarget = s.offsetSyncsTopicLocation === "target"
      const topic = ctx.offsetSyncsTopic
      const admin = yield* kafka.admin(onTarget ? s.clients.targetAdmin : s.clients.sourceAdmin)
      yield* createInternalTopic(admin, {
        flow: s.name,
        cluster: onTarget ? s.target : s.source,
        topic,
        replicationFactor: s.offsetSyncsTopicReplicationFactor,
        key: "offset-syncs.topic.replication.factor"
      })
      const producer = yield* kafka.producer(
        onTarget ? s.clients.targetProducer : s.clients.sourceProducer,
        onTarget ? s.clients.targetProducerSettings : s.clients.sourceProducerSettings
      )
      const written = Metrics.offsetSyncsWritten.pipe(Metric.tagged("flow", s.name), Metric.tagged("source", s.source), Metric.tagged("target", s.target))
      const states = yield* Ref.make(new Map<string, PartitionSyncState>())
      const delayed = yield* Ref.make(new Map<string, Pending>())

      const write = (syncs: ReadonlyArray<Pending>) =>
        syncs.length === 0 ? Effect.void : Effect.gen(function*() {
          const now = String(yield* Clock.currentTimeMillis.pipe(Effect.map(Math.floor)))
          const records = syncs.map((p) => ({
            ...OffsetSync.encode({ topic: p.topic, partition: p.partition, upstreamOffset: p.pair.source, offset: p.pair.target }),
            headers: [],
            timestamp: now
          }))
          const writes: Array<PartitionWrite> = [{ topic, partition: 0, records }]
          yield* producer.send(writes)
          yield* Metric.incrementBy(written, records.length)
          yield* healthy
        }).pipe(Effect.withSpan("mm2.writeOffsetSyncs", {
          root: true,
          kind: "producer",
          attributes: { flow: s.name, "messaging.destination.name": topic, "mm2.offset_syncs": syncs.length }
        }))

      // plans from the newest mappings; immediate syncs go out now, the newest pairs wait for a flush
      const round = Effect.gen(function*() {
        const mappings = yield* log.mappings
        const known = yield* Ref.get(states)
        const next = new Map(known)
        const now: Array<Pending> = []
        const later = new Map(yield* Ref.get(delayed))
        for (const [key, m] of HashMap.entries(mappings)) {
          const p = plan(known.get(key) ?? INITIAL, m, s.offsetLagMax)
          for (const pair of p.immediate) now.push({ topic: m.sourceTopic, partition: m.partition, pair })
          if (p.delayed === undefined) later.delete(key)
          else later.set(key, { topic: m.sourceTopic, partition: m.partition, pair: p.delayed })
          next.set(key, p.next)
        }
        yield* write(now)
        // only after the write: a failed write plans the same syncs again after the restart
        yield* Ref.set(states, next)
        yield* Ref.set(delayed, later)
      })

      const flush = Effect.gen(function*() {
        const pending = yield* Ref.getAndSet(delayed, new Map())
        yield* write([...pending.values()]).pipe(Effect.onError(() => Ref.update(delayed, (m) => new Map([...pending, ...m]))))
        yield* Ref.update(states, (m) => {
          const next = new Map(m)
          for (const [key, p] of pending) {
            const st = next.get(key)
            if (st !== undefined) next.set(key, { ...st, lastWritten: p.pair })
          }
          return next
        })
      })

      yield* healthy
      // one loop, so a failed write fails the task (and the supervisor restarts it)
      const flushEvery = s.offsetFlushIntervalMs
      let nextFlush = (yield* Clock.currentTimeMillis) + flushEvery
      return yield* Effect.gen(function*() {
        yield* round
        const now = yield* Clock.currentTimeMillis
        if (now >= nextFlush) {
          yield* flush
          nextFlush = now + flushEvery
        }
        yield* Effect.sleep(PLAN_EVERY)
      }).pipe(Effect.forever)
    }).pipe(Effect.scoped)
}
