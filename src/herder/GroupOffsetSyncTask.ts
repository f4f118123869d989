/**
 * MM2's `sync.group.offsets.enabled` (spec §8.5) as a duty of its own: every
 * `sync.group.offsets.interval.seconds`, writes the newest checkpoint of each consumer group
 * into that group on the target, with the group's commit metadata, so a consumer that fails
 * over just joins its group on the target and resumes.
 *
 * It reads what it writes from the checkpoints topic (`<source>.checkpoints.internal` on the
 * target), so it restarts alone and agrees with what Java tools read. Safety, stricter than MM2:
 * - a group with members on the target (any state but Empty, or unknown = Dead) is not touched;
 * - a target offset is never moved backwards;
 * - a group that committed on the target itself (an offset there that is none of the
 *   checkpoints of that partition, nor what this task wrote) is left alone from then on, with a
 *   warning naming it: a consumer has taken over there, and its position is its own;
 * - the group is described, read and written in immediate succession, and the broker refuses
 *   a commit from outside once a member has joined (which is then logged, not retried).
 */
import { Clock, Duration, Effect, Either, Metric, Option, Ref } from "effect"
import { FlowConfigError, FlowContext, isOwnGroup } from "../flow/FlowContext.js"
import { KafkaClient } from "../kafka/KafkaClient.js"
import { topicPartitionKey } from "../kafka/KafkaRecord.js"
import { followTopic } from "../kafka/TopicFollower.js"
import { makeGroupFilter } from "../policy/TopicFilter.js"
import * as Metrics from "../telemetry/Metrics.js"
import * as Checkpoint from "../wire/Checkpoint.js"
import type { HerderTask } from "./HerderTask.js"

/** Translated offsets remembered per (group, partition) to recognise our own commits. */
const REMEMBERED = 16

interface Latest {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  readonly metadata: string
  /** recent translated offsets of this partition (checkpoints read and commits written) */
  readonly ours: ReadonlyArray<bigint>
}

const remember = (ours: ReadonlyArray<bigint>, offset: bigint): ReadonlyArray<bigint> =>
  ours.includes(offset) ? ours : [...ours.slice(-(REMEMBERED - 1)), offset]

/** A target group that may be written: no members now. Dead = not known to the target yet. */
const writable = (state: string): boolean => state === "Empty" || state === "Dead"

export const GroupOffsetSyncTask: HerderTask = {
  name: "group-offsets",
  kind: "metadata",
  once: true,
  enabled: (h) =>
    h.replicationEnabled && h.settings.emitCheckpointsEnabled && h.settings.syncGroupOffsetsEnabled &&
    h.settings.syncGroupOffsetsIntervalSeconds >= 0,
  label: (h) => `group offset sync of ${h.settings.name}`,
  run: (h, healthy) =>
    Effect.gen(function*() {
      const ctx = yield* FlowContext.make(h.settings)
      const kafka = yield* KafkaClient
      const s = h.settings
      const groupFilter = yield* Either.mapLeft(
        makeGroupFilter({ include: s.groups, exclude: s.groupsExclude, includeKey: "groups", excludeKey: "groups.exclude" }),
        (e) => new FlowConfigError({ flow: s.name, key: e.key, detail: e.message })
      )
      const checkpointsTopic = ctx.policy.checkpointsTopic(s.source)
      const admin = yield* kafka.admin(s.clients.targetAdmin)
      const latest = yield* Ref.make(new Map<string, Map<string, Latest>>())
      const abandoned = yield* Ref.make(new Set<string>())
      // what this task committed last, per group and partition (ours even once checkpoints moved on)
      const written = yield* Ref.make(new Map<string, bigint>())
      const synced = Metrics.groupOffsetsSynced.pipe(Metric.tagged("flow", s.name), Metric.tagged("source", s.source), Metric.tagged("target", s.target))

      const reader = yield* followTopic(s.clients.targetConsumer, checkpointsTopic, `${s.name}.group-offsets-reader`, (r) => {
        const d = r.key === null || r.value === null ? undefined : Either.getRight(Checkpoint.decode(r.key, r.value))
        if (d === undefined || Option.isNone(d)) {
          return Effect.logWarning(`skipping an undecodable record at offset ${r.offset} of ${checkpointsTopic}`)
        }
        const { key, value } = d.value
        if (isOwnGroup(key.group) || !groupFilter.shouldReplicate(key.group)) return Effect.void
        return Ref.update(latest, (m) => {
          let g = m.get(key.group)
          if (g === undefined) m.set(key.group, g = new Map())
          const tp = topicPartitionKey(key.topic, key.partition)
          const before = g.get(tp)
          g.set(tp, {
            topic: key.topic,
            partition: key.partition,
            offset: value.offset,
            metadata: value.metadata,
            ours: remember(before?.ours ?? [], value.offset)
          })
          return m
        })
      })
      yield* Effect.raceFirst(reader.caughtUp, reader.crashed)

      const syncGroup = (group: string, wanted: Map<string, Latest>, current: ReadonlyMap<string, bigint>) =>
        Effect.gen(function*() {
          const writes: Array<Latest> = []
          const mine = yield* Ref.get(written)
          for (const [tp, l] of wanted) {
            const now = current.get(tp)
            if (now === undefined || now < 0n) {
              writes.push(l)
            } else if (!l.ours.includes(now) && mine.get(`${group}\u0000${tp}`) !== now) {
              yield* Ref.update(abandoned, (a) => a.add(group))
              yield* Effect.logWarning(
                `${s.name}: consumer group ${group} committed offset ${now} of ${l.topic}-${l.partition} on ${s.target} itself ` +
                  `(none of the offsets translated from ${s.source}): its offsets are no longer synced, a consumer has taken over there`
              )
              return 0
            } else if (now < l.offset) {
              writes.push(l)
            }
          }
          if (writes.length === 0) return 0
          yield* admin.commitGroupOffsets(
            group,
            writes.map((l) => ({ topic: l.topic, partition: l.partition, offset: String(l.offset), metadata: l.metadata }))
          )
          yield* Ref.update(written, (m) => {
            for (const l of writes) m.set(`${group}\u0000${topicPartitionKey(l.topic, l.partition)}`, l.offset)
            return m
          })
          yield* Metric.incrementBy(synced, writes.length)
          return writes.length
        }).pipe(
          // the group gained a member between describing and writing, or the broker refused it:
          // the next round sees it again
          Effect.catchAll((e) =>
            Effect.as(Effect.logInfo(`${s.name}: offsets of consumer group ${group} not written to ${s.target} this round: ${e.message}`), 0)
          )
        )

      const round = Effect.gen(function*() {
        const started = yield* Clock.currentTimeMillis
        const wantedByGroup = yield* Ref.get(latest)
        const skip = yield* Ref.get(abandoned)
        const groups = [...wantedByGroup.keys()].filter((g) => !skip.has(g))
        if (groups.length === 0) return
        const idle = (yield* admin.describeGroups(groups)).filter((d) => writable(d.state)).map((d) => d.group)
        const topics = new Set<string>()
        for (const g of idle) for (const l of wantedByGroup.get(g)?.values() ?? []) topics.add(l.topic)
        const fetched = yield* admin.fetchOffsetsOfGroups(idle, [...topics])
        let written = 0
        for (const group of idle) {
          const offsets = fetched.offsets.get(group)
          if (offsets === undefined) continue // not answered this round: the next one tries again
          const current = new Map(offsets.map((o) => [topicPartitionKey(o.topic, o.partition), BigInt(o.offset)]))
          written += yield* syncGroup(group, wantedByGroup.get(group)!, current)
        }
        yield* Effect.annotateCurrentSpan({ "mm2.groups": groups.length, "mm2.partitions.written": written })
        yield* Effect.logDebug(
          `${s.name}: group offset sync round: ${groups.length} groups, ${idle.length} without members on ${s.target}, ` +
            `${written} partitions written, ${Math.round((yield* Clock.currentTimeMillis) - started)} ms`
        )
      }).pipe(Effect.withSpan("mm2.syncGroupOffsets", { root: true, attributes: { flow: s.name } }))

      yield* healthy
      const interval = Duration.millis(Math.max(s.syncGroupOffsetsIntervalSeconds * 1_000, 100))
      const loop = Effect.zipRight(round, healthy).pipe(Effect.delay(interval), Effect.forever)
      return yield* Effect.raceFirst(loop, reader.crashed)
    }).pipe(Effect.scoped)
}
