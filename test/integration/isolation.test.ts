/**
 * Flows are isolated: in one process, a flow whose target cannot be reached (a closed loopback
 * port) does not stop or slow down the healthy flow next to it, before or after it gave up.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { inject } from "vitest"
import {
  createTopic,
  endOffsets,
  eventually,
  flowProps,
  groupOffsets,
  listTopics,
  produceToPartitions,
  progressGroup,
  readAll,
  startReplicator,
  uniqueId,
  waitForCount
} from "./support/kafka.js"
import { closedLoopbackPort } from "./support/process.js"
import { expectedByPartition, indexedRecords, mixedRecords, viewByPartition } from "./support/records.js"

describe("flow isolation", () => {
  it.scopedLive("a flow to an unreachable cluster does not affect a healthy flow in the same process", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const dead = `127.0.0.1:${yield* closedLoopbackPort}`
      const id = uniqueId()
      const [p, b, d] = [`p${id}`, `b${id}`, `d${id}`]
      const prefix = `iso${id}`
      const topic = `${prefix}-t`
      const first = mixedRecords(30, 60, 3)
      const second = indexedRecords("second", 45, 3)
      yield* createTopic(primary, topic, 3)
      yield* produceToPartitions(primary, topic, first)

      const replicator = yield* startReplicator({
        "clusters": `${p}, ${b}, ${d}`,
        [`${p}.bootstrap.servers`]: primary,
        [`${b}.bootstrap.servers`]: backup,
        [`${d}.bootstrap.servers`]: dead,
        [`${p}->${b}.enabled`]: "true",
        [`${p}->${d}.enabled`]: "true",
        "topics": `${prefix}.*`,
        "replication.factor": "-1",
        "heartbeats.topic.replication.factor": "1",
        "offset-syncs.topic.replication.factor": "1",
        "checkpoints.topic.replication.factor": "1",
        "heartbeats.replication.enabled": "false",
        "refresh.topics.interval.seconds": "1",
        [`${b}.offset.flush.interval.ms`]: "500",
        [`${d}.offset.flush.interval.ms`]: "500",
        "admin.timeout.ms": "3000"
      })
      expect(replicator.settings.flows.map((f) => f.name)).toEqual([`${p}->${b}`, `${p}->${d}`])

      const remote = `${p}.${topic}`
      yield* waitForCount(backup, remote, first.length)
      // well past the broken flow's admin.timeout.ms: whatever it does about it, it has done it
      yield* Effect.sleep("6 seconds")
      yield* produceToPartitions(primary, topic, second)

      const all = [...first, ...second]
      const copied = yield* readAll(backup, remote, all.length)
      expect(viewByPartition(copied)).toEqual(expectedByPartition(all, 3))
      expect(yield* endOffsets(backup, remote)).toEqual(yield* endOffsets(primary, topic))
      // the healthy flow kept the process (here: the Mm2.run fiber) running
      yield* replicator.expectRunning
      // the broken flow never claimed progress it did not make, and wrote nowhere else
      expect(yield* groupOffsets(primary, progressGroup(p, d), topic)).toEqual([-1, -1, -1])
      expect((yield* listTopics(backup)).filter((n) => n.includes(prefix))).toEqual([remote])

      // README ("Startup gives up on a cluster that does not answer within admin.timeout.ms (fatal,
      // named)"): the broken flow stops with one error naming its cluster, instead of restarting forever
      const brokenFlow = `flow ${p}->${d}`
      const stopped = yield* eventually(
        () =>
          `${brokenFlow} to stop with a fatal error (admin.timeout.ms = 3000); it logged instead:\n` +
          replicator.logs().filter((l) => l.message.includes(brokenFlow)).slice(-3).map((l) => `  ${l.level} ${l.message}`).join("\n"),
        Effect.sync(() => replicator.logs().filter((l) => l.level === "ERROR" && l.message.startsWith(`${brokenFlow} stopped`))),
        (errors) => errors.length > 0,
        { timeout: "30 seconds", interval: "500 millis" }
      )
      expect(stopped[0]?.message).toContain(d)
      // and the healthy flow is still serving
      const third = indexedRecords("third", 12, 3)
      yield* produceToPartitions(primary, topic, third)
      yield* waitForCount(backup, remote, all.length + third.length)
      yield* replicator.expectRunning
    }), 120_000)

  it.scopedLive("a record the target refuses as too large stops the flow with an error naming topic, partition and offsets", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [p, b] = [`p${id}`, `b${id}`]
      const topic = `big${id}`
      // the source accepts records up to 3 MB; the remote topic keeps the broker default (1 MiB),
      // since this flow does not copy that config (MM2 would copy it at creation)
      yield* createTopic(primary, topic, 2, { "max.message.bytes": "3000000" })
      const small = indexedRecords("small", 6, 2)
      yield* produceToPartitions(primary, topic, small)
      yield* produceToPartitions(primary, topic, [[1, { key: Buffer.from("big"), value: Buffer.alloc(1_500_000, 1), headers: [], timestamp: String(Date.now()) }]])
      const replicator = yield* startReplicator(flowProps({
        source: p,
        target: b,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: topic,
        extra: { "config.properties.exclude": "max\\.message\\.bytes" }
      }))
      const stopped = yield* eventually(
        "the flow to stop on the refused record",
        Effect.sync(() => replicator.logs().filter((l) => l.level === "ERROR" && l.message.startsWith(`flow ${p}->${b} stopped`))),
        (errors) => errors.length > 0,
        { timeout: "60 seconds", interval: "250 millis" }
      )
      // indexedRecords puts 3 records in partition 1 (offsets 0..2): the big one is offset 3
      expect(stopped[0]!.message).toContain(`(topic ${topic} partition 1 offsets 3..3)`)
      expect(stopped[0]!.message).toContain("message.max.bytes")
      // what came before it was replicated
      yield* waitForCount(backup, `${p}.${topic}`, small.length)
    }), 120_000)

  it.scopedLive("auto.offset.reset = none stops replication naming the partitions without progress, not as earliest", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [p, b] = [`p${id}`, `b${id}`]
      const topic = `none${id}`
      yield* createTopic(primary, topic, 2)
      yield* produceToPartitions(primary, topic, indexedRecords("none", 10, 2))
      const replicator = yield* startReplicator(flowProps({
        source: p,
        target: b,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: topic,
        extra: { [`${p}.consumer.auto.offset.reset`]: "none", "heartbeats.replication.enabled": "false" }
      }))
      const stopped = yield* eventually(
        "the flow to stop for want of progress",
        Effect.sync(() => replicator.logs().filter((l) => l.level === "ERROR" && l.message.startsWith(`flow ${p}->${b} stopped`))),
        (errors) => errors.length > 0,
        { timeout: "60 seconds", interval: "250 millis" }
      )
      expect(stopped[0]!.message).toContain(`auto.offset.reset = none`)
      expect(stopped[0]!.message).toContain(`${topic}-0, ${topic}-1`)
      // nothing was read as if from the beginning
      expect(yield* endOffsets(backup, `${p}.${topic}`)).toEqual([0, 0])
    }), 120_000)
})
