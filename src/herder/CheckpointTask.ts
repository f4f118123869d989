/**
 * MirrorCheckpointConnector's duty (spec §8): every `emit.checkpoints.interval.seconds`, for each
 * consumer group on the source that `groups` / `groups.exclude` accept (never our own groups),
 * translates its committed offsets of the partitions this herder replicates and writes
 * checkpoints in MM2's layout to `<source>.checkpoints.internal` on the target (created
 * compacted, one partition, `checkpoints.topic.replication.factor` replicas).
 *
 * Translation (OffsetTranslation.ts) never passes a group's true position: exact from the runs
 * this process replicated, else bounded by the offset syncs, which are read from the offset
 * syncs topic from its start and then followed. No checkpoint is written for an offset that
 * cannot be translated. Checkpoints of a (group, partition) never go backwards unless the group
 * itself moved back on the source (as in MM2), across restarts too: the checkpoints already in
 * the topic are read first.
 */
import { Clock, Duration, Effect, Either, HashMap, Metric, Option, Ref } from "effect"
import type { HerderSettings } from "../config/Mm2Config.js"
import { FlowConfigError, FlowContext, isOwnGroup } from "../flow/FlowContext.js"
import { followOffsetSyncs } from "../flow/OffsetSyncReader.js"
import { translateBounded } from "../flow/OffsetTranslation.js"
import { ReplicationLog } from "../flow/ReplicationLog.js"
import { KafkaClient } from "../kafka/KafkaClient.js"
import { topicOfKey, topicPartitionKey } from "../kafka/KafkaRecord.js"
import { followTopic } from "../kafka/TopicFollower.js"
import { makeGroupFilter } from "../policy/TopicFilter.js"
import * as Metrics from "../telemetry/Metrics.js"
import * as Progress from "../telemetry/Progress.js"
import * as Checkpoint from "../wire/Checkpoint.js"
import type { HerderTask } from "./HerderTask.js"
import { createInternalTopic } from "./InternalTopics.js"

/** Checkpoints per produce request. */
const PER_REQUEST = 2_000

interface Last {
  readonly upstream: bigint
  readonly downstream: bigint
}

const checkpointKey = (group: string, topic: string, partition: number): string => `${group}\u0000${topicPartitionKey(topic, partition)}`

export const CheckpointTask: HerderTask = {
  name: "checkpoints",
  kind: "metadata",
  once: true,
  enabled: (h: HerderSettings) =>
    h.replicationEnabled && h.settings.emitCheckpointsEnabled && h.settings.emitCheckpointsIntervalSeconds >= 0,
  label: (h) => `checkpoints of ${h.settings.name}`,
  run: (h, healthy) =>
    Effect.gen(function*() {
      const ctx = yield* FlowContext.make(h.settings)
      const kafka = yield* KafkaClient
      const log = yield* ReplicationLog
      const s = h.settings
      const c = s.clients
      const groupFilter = yield* Either.mapLeft(
        makeGroupFilter({ include: s.groups, exclude: s.groupsExclude, includeKey: "groups", excludeKey: "groups.exclude" }),
        (e) => new FlowConfigError({ flow: s.name, key: e.key, detail: e.message })
      )
      const checkpointsTopic = ctx.policy.checkpointsTopic(s.source)
      const targetAdmin = yield* kafka.admin(c.targetAdmin)
      const sourceAdmin = yield* kafka.admin(c.sourceAdmin)
      yield* createInternalTopic(targetAdmin, {
        flow: s.name,
        cluster: s.target,
        topic: checkpointsTopic,
        replicationFactor: s.checkpointsTopicReplicationFactor,
        key: "checkpoints.topic.replication.factor"
      })

      // what was checkpointed before (by us or Java MM2): checkpoints only move forward from there
      const last = yield* Ref.make(new Map<string, Last>())
      const readPrevious = Effect.scoped(Effect.gen(function*() {
        const previous = yield* followTopic(c.targetConsumer, checkpointsTopic, `${s.name}.checkpoints-reader`, (r) => {
          const d = r.key === null || r.value === null ? undefined : Either.getRight(Checkpoint.decode(r.key, r.value))
          if (d === undefined || Option.isNone(d)) {
            return Effect.logWarning(`skipping an undecodable record at offset ${r.offset} of ${checkpointsTopic}`)
          }
          const { key, value } = d.value
          return Ref.update(last, (m) =>
            m.set(checkpointKey(key.group, key.topic, key.partition), { upstream: value.upstreamOffset, downstream: value.offset })
          )
        })
        yield* Effect.raceFirst(previous.caughtUp, previous.crashed)
      }))

      // offset syncs, followed for the task's lifetime (the topic is created here too: the
      // offset-syncs task may not have done it yet)
      const followSyncs = Effect.gen(function*() {
        const onTarget = s.offsetSyncsTopicLocation === "target"
        yield* createInternalTopic(onTarget ? targetAdmin : sourceAdmin, {
          flow: s.name,
          cluster: onTarget ? s.target : s.source,
          topic: ctx.offsetSyncsTopic,
          replicationFactor: s.offsetSyncsTopicReplicationFactor,
          key: "offset-syncs.topic.replication.factor"
        })
        const reader = yield* followOffsetSyncs(s, ctx, "offset-syncs-reader")
        yield* Effect.raceFirst(reader.caughtUp, reader.crashed)
        return reader
      })
      // both at once: each reader joins a group of its own, which brokers delay by
      // group.initial.rebalance.delay.ms (3 s by default)
      const [, syncReader] = yield* Effect.all([readPrevious, followSyncs], { concurrency: 2 })

      const producer = yield* kafka.producer(c.targetProducer, c.targetProducerSettings)
      const tags = <Type, In, Out>(m: Metric.Metric<Type, In, Out>) =>
        m.pipe(Metric.tagged("flow", s.name), Metric.tagged("source", s.source), Metric.tagged("target", s.target))
      const roundRequests = tags(Metrics.checkpointRoundRequests)
      const rereads = new Map<string, number>()

      // the groups to checkpoint: listed at start, then every refresh.groups.interval.seconds
      const groups = yield* Ref.make<{ readonly ids: ReadonlyArray<string>; readonly at: number } | undefined>(undefined)
      const currentGroups = Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const known = yield* Ref.get(groups)
        if (known !== undefined && (!s.refreshGroupsEnabled || now - known.at < s.refreshGroupsIntervalSeconds * 1_000)) {
          return known.ids
        }
        const ids = (yield* sourceAdmin.listGroups).filter((g) => !isOwnGroup(g) && groupFilter.shouldReplicate(g))
        if (known === undefined || ids.length !== known.ids.length) {
          yield* Effect.logInfo(`${s.name}: ${ids.length} consumer groups on ${s.source} to checkpoint`)
        }
        yield* Ref.set(groups, { ids, at: now })
        return ids
      })

      const round = Effect.gen(function*() {
        const started = yield* Clock.currentTimeMillis
        const timestamp = String(Math.floor(started))
        const known = yield* syncReader.syncs
        const mappings = yield* log.mappings
        const topics = new Set([...known.keys(), ...HashMap.keys(mappings)].map(topicOfKey))
        if (topics.size === 0) return
        const requestsBefore = yield* sourceAdmin.requests
        const ids = yield* currentGroups
        const fetched = yield* sourceAdmin.fetchOffsetsOfGroups(ids, [...topics])
        if (fetched.failed.length > 0) {
          const first = fetched.failed.slice(0, 3).map((f) => `${f.group} (${f.detail})`).join(", ")
          yield* Effect.logWarning(`${s.name}: no checkpoints this round for ${fetched.failed.length} groups whose offsets ${s.source} did not give: ${first}`)
        }
        const previous = yield* Ref.get(last)
        const updates = new Map<string, Last>()
        const records: Array<{ key: Buffer; value: Buffer; headers: []; timestamp: string }> = []
        const written: Array<{ group: string; topic: string; partition: number }> = []
        for (const [group, offsets] of fetched.offsets) {
          for (const o of offsets) {
            if (!topics.has(o.topic)) continue
            const upstream = BigInt(o.offset)
            if (upstream < 0n) continue
            const tp = topicPartitionKey(o.topic, o.partition)
            const t = translateBounded(Option.getOrUndefined(HashMap.get(mappings, tp)), known.get(tp), upstream)
            if (t === undefined) continue
            const remote = ctx.policy.formatRemoteTopic(s.source, o.topic)
            const key = checkpointKey(group, remote, o.partition)
            // a gauge per group and partition: set when it changes, not every round
            const reread = Number(t.maxReread)
            if (rereads.get(key) !== reread) {
              rereads.set(key, reread)
              yield* Metric.set(
                tags(Metrics.failoverReread).pipe(Metric.tagged("group", group), Metric.tagged("topic", remote), Metric.tagged("partition", String(o.partition))),
                reread
              )
            }
            const before = previous.get(key)
            // forward only, unless the group itself went back on the source
            if (before !== undefined && upstream >= before.upstream && t.offset <= before.downstream) continue
            updates.set(key, { upstream, downstream: t.offset })
            written.push({ group, topic: remote, partition: o.partition })
            records.push({
              ...Checkpoint.encode({ group, topic: remote, partition: o.partition, upstreamOffset: upstream, offset: t.offset, metadata: o.metadata ?? "" }),
              headers: [],
              timestamp
            })
          }
        }
        for (let i = 0; i < records.length; i += PER_REQUEST) {
          yield* producer.send([{ topic: checkpointsTopic, partition: 0, records: records.slice(i, i + PER_REQUEST) }])
        }
        yield* Ref.update(last, (m) => {
          for (const [k, v] of updates) m.set(k, v)
          return m
        })
        const requests = (yield* sourceAdmin.requests) - requestsBefore
        yield* Metric.set(roundRequests, requests)
        if (records.length > 0) {
          const latency = (yield* Clock.currentTimeMillis) - started
          yield* Metric.incrementBy(tags(Metrics.checkpointsWritten), records.length)
          yield* Metric.update(tags(Metrics.checkpointLatencyStats), latency)
          for (const w of written) {
            yield* Metric.set(
              tags(Metrics.checkpointLatency).pipe(
                Metric.tagged("group", w.group),
                Metric.tagged("topic", w.topic),
                Metric.tagged("partition", String(w.partition))
              ),
              latency
            )
            yield* Progress.checkpointed(s.name, w.topic, w.partition, started + latency)
          }
        }
        yield* Metric.set(tags(Metrics.lastCheckpoint), (yield* Clock.currentTimeMillis) / 1_000)
        yield* Effect.annotateCurrentSpan({ "mm2.groups": ids.length, "mm2.checkpoints": records.length })
        yield* Effect.logDebug(
          `${s.name}: checkpoint round: ${ids.length} groups, ${records.length} checkpoints, ${requests} admin requests to ${s.source}, ` +
            `${Math.round((yield* Clock.currentTimeMillis) - started)} ms`
        )
      }).pipe(Effect.withSpan("mm2.emitCheckpoints", { root: true, kind: "producer", attributes: { flow: s.name } }))

      yield* healthy
      const interval = Duration.millis(Math.max(s.emitCheckpointsIntervalSeconds * 1_000, 100))
      const loop = Effect.zipRight(round, healthy).pipe(Effect.delay(interval), Effect.forever)
      return yield* Effect.raceFirst(loop, syncReader.crashed)
    }).pipe(Effect.scoped)
}
