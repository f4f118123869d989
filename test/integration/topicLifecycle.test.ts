/**
 * Remote topics stay consistent with their sources, on real brokers: configs copied at creation
 * and kept in sync (a source change arrives, a target-side edit of a synced config is reverted,
 * excluded configs and target-only settings are left alone), a user's `config.properties.exclude`
 * replacing MM2's list, `use.defaults.from = source`, a pre-existing smaller remote topic grown
 * at start, a deleted source topic reported once (its remote topic kept), and an internal topic
 * whose replication factor the cluster cannot meet stopping its task with one error naming the
 * key while replication goes on.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { inject } from "vitest"
import type { ConfigOperation, TopicConfigEntry } from "../../src/kafka/KafkaClient.js"
import {
  createTopic,
  eventually,
  flowProps,
  partitionCount,
  produceToPartitions,
  startReplicator,
  uniqueId,
  waitForCount,
  waitForTopic,
  withAdmin
} from "./support/kafka.js"
import { indexedRecords } from "./support/records.js"

const clusters = () => {
  const id = uniqueId()
  return { id, primary: inject("primaryBootstrap"), backup: inject("backupBootstrap"), p: `p${id}`, b: `b${id}` }
}

const configsOf = (bs: string, topic: string) =>
  withAdmin(bs, (a) => a.describeTopicConfigs([topic])).pipe(Effect.map((m) => m.get(topic) ?? []))

/** The topic's explicit overrides (name -> value). */
const overrides = (entries: ReadonlyArray<TopicConfigEntry>): Record<string, string | null> =>
  Object.fromEntries(entries.filter((e) => e.source === "topic").map((e) => [e.name, e.value]))

const alter = (bs: string, topic: string, operations: ReadonlyArray<ConfigOperation>) =>
  withAdmin(bs, (a) => a.alterTopicConfigs([{ topic, operations }])).pipe(
    Effect.flatMap((refused) => (refused.length === 0 ? Effect.void : Effect.fail(new Error(`alter ${topic}: ${refused[0]!.detail}`))))
  )

const overridesReach = (bs: string, topic: string, want: Record<string, string | undefined>, what: string) =>
  eventually(
    what,
    configsOf(bs, topic).pipe(Effect.map(overrides)),
    (o) => Object.entries(want).every(([k, v]) => (v === undefined ? !(k in o) : o[k] === v)),
    { timeout: "30 seconds", interval: "250 millis" }
  )

describe.concurrent("topic lifecycle", () => {
  it.scopedLive("configs: copied at creation, source changes synced, target edits reverted, excluded and target-only settings left alone", () =>
    Effect.gen(function*() {
      const c = clusters()
      const topic = `cfg${c.id}`
      const remote = `${c.p}.${topic}`
      yield* createTopic(c.primary, topic, 1, { "retention.ms": "3600000", "min.insync.replicas": "1", "max.message.bytes": "2000000" })
      yield* startReplicator(flowProps({
        source: c.p,
        target: c.b,
        sourceBootstrap: c.primary,
        targetBootstrap: c.backup,
        topics: topic,
        extra: { "sync.topic.configs.interval.seconds": "1" }
      }))
      // at creation: the overrides, but not min.insync.replicas (in MM2's default exclude list)
      yield* waitForTopic(c.backup, remote)
      const created = overrides(yield* configsOf(c.backup, remote))
      expect(created).toMatchObject({ "retention.ms": "3600000", "max.message.bytes": "2000000" })
      expect(created).not.toHaveProperty("min.insync.replicas")

      // a target-only setting of an excluded config survives every sync (incremental alter)
      yield* alter(c.backup, remote, [{ op: "set", name: "min.insync.replicas", value: "1" }])
      // a source change arrives; a new source override too; a removed one goes
      yield* alter(c.primary, topic, [
        { op: "set", name: "retention.ms", value: "7200000" },
        { op: "set", name: "compression.type", value: "gzip" },
        { op: "delete", name: "max.message.bytes" }
      ])
      yield* overridesReach(c.backup, remote, {
        "retention.ms": "7200000",
        "compression.type": "gzip",
        "max.message.bytes": undefined,
        "min.insync.replicas": "1"
      }, `${remote} follows the changed source configs`)

      // a target-side edit of a synced config is reverted
      yield* alter(c.backup, remote, [{ op: "set", name: "retention.ms", value: "1000" }])
      yield* overridesReach(c.backup, remote, { "retention.ms": "7200000", "min.insync.replicas": "1" }, `${remote}'s edited retention.ms reverted`)
    }), 120_000)

  it.scopedLive("a user's config.properties.exclude replaces MM2's list; use.defaults.from = source at top level writes the source's defaults", () =>
    Effect.gen(function*() {
      const c = clusters()
      const topic = `cfx${c.id}`
      const remote = `${c.p}.${topic}`
      yield* createTopic(c.primary, topic, 1, { "retention.ms": "3600000", "min.insync.replicas": "1" })
      yield* startReplicator(flowProps({
        source: c.p,
        target: c.b,
        sourceBootstrap: c.primary,
        targetBootstrap: c.backup,
        topics: topic,
        extra: {
          "sync.topic.configs.interval.seconds": "1",
          "config.properties.exclude": "retention\\.ms",
          // Java MM2 would ignore it at top level; effect-mm2 applies it (README, differences)
          "use.defaults.from": "source"
        }
      }))
      // min.insync.replicas is copied now (only retention.ms is excluded), and so are the source's
      // defaults, e.g. cleanup.policy = delete
      yield* overridesReach(c.backup, remote, {
        "min.insync.replicas": "1",
        "cleanup.policy": "delete",
        "retention.ms": undefined
      }, `${remote} with the user's exclude list and the source's defaults`)
    }), 120_000)

  it.scopedLive("a pre-existing remote topic with fewer partitions is grown at start and receives every record", () =>
    Effect.gen(function*() {
      const c = clusters()
      const topic = `grow${c.id}`
      const remote = `${c.p}.${topic}`
      yield* createTopic(c.primary, topic, 3)
      yield* createTopic(c.backup, remote, 1)
      yield* produceToPartitions(c.primary, topic, indexedRecords("g", 90, 3))
      yield* startReplicator(flowProps({ source: c.p, target: c.b, sourceBootstrap: c.primary, targetBootstrap: c.backup, topics: topic }))
      yield* waitForCount(c.backup, remote, 90)
      expect(yield* partitionCount(c.backup, remote)).toBe(3)
    }), 120_000)

  it.scopedLive("a deleted source topic is reported once and its remote topic is kept", () =>
    Effect.gen(function*() {
      const c = clusters()
      const [kept, gone] = [`keep${c.id}`, `gone${c.id}`]
      yield* createTopic(c.primary, kept, 1)
      yield* createTopic(c.primary, gone, 1)
      yield* produceToPartitions(c.primary, gone, indexedRecords("d", 10, 1))
      const replicator = yield* startReplicator(flowProps({
        source: c.p,
        target: c.b,
        sourceBootstrap: c.primary,
        targetBootstrap: c.backup,
        topics: `(keep|gone)${c.id}`
      }))
      yield* waitForCount(c.backup, `${c.p}.${gone}`, 10)
      yield* withAdmin(c.primary, (a) => a.deleteTopics([gone]))
      const reported = (r: typeof replicator) => r.logs().filter((l) => l.message.includes(`Source topic ${gone} of ${c.p}->${c.b} no longer exists`))
      yield* eventually("the deletion reported", Effect.sync(() => reported(replicator)), (ls) => ls.length > 0, { timeout: "30 seconds" })
      // several more refreshes (1 s each) pass without a second report
      yield* Effect.sleep("4 seconds")
      expect(reported(replicator).map((l) => l.level)).toEqual(["WARN"])
      yield* waitForCount(c.backup, `${c.p}.${gone}`, 10)
      yield* replicator.expectRunning
    }), 120_000)

  it.scopedLive("an internal topic with more replicas than brokers stops its task with one error naming the key; replication goes on", () =>
    Effect.gen(function*() {
      const c = clusters()
      const topic = `rf${c.id}`
      yield* createTopic(c.primary, topic, 1)
      yield* produceToPartitions(c.primary, topic, indexedRecords("rf", 20, 1))
      const replicator = yield* startReplicator(flowProps({
        source: c.p,
        target: c.b,
        sourceBootstrap: c.primary,
        targetBootstrap: c.backup,
        topics: topic,
        extra: { "checkpoints.topic.replication.factor": "3" }
      }))
      yield* waitForCount(c.backup, `${c.p}.${topic}`, 20)
      const named = () => replicator.logs().filter((l) => l.level === "ERROR" && l.message.includes("checkpoints.topic.replication.factor"))
      yield* eventually("the error naming the key", Effect.sync(named), (ls) => ls.length > 0, { timeout: "30 seconds" })
      yield* Effect.sleep("3 seconds")
      expect(named().length, named().map((l) => l.message).join("\n")).toBe(1)
      expect(named()[0]!.message).toContain(`${c.p}->${c.b}.checkpoints.topic.replication.factor`)
      yield* replicator.expectRunning
    }), 120_000)
})
