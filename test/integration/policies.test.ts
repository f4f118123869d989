/**
 * Replication policies against real brokers: IdentityReplicationPolicy keeps topic names, and
 * active-active replication with DefaultReplicationPolicy does not loop even when the topic filter
 * would accept the remote topics (loop prevention, not the filter, must stop them).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { inject } from "vitest"
import { makeTopicFilter } from "../../src/policy/TopicFilter.js"
import {
  createTopic,
  endOffsets,
  flowProps,
  listTopics,
  produceToPartitions,
  readAll,
  startReplicator,
  sum,
  uniqueId,
  waitForCount
} from "./support/kafka.js"
import { expectedByPartition, indexedRecords, mixedRecords, viewByPartition } from "./support/records.js"

const IDENTITY = "org.apache.kafka.connect.mirror.IdentityReplicationPolicy"

describe("IdentityReplicationPolicy", () => {
  it.scopedLive("replicates into a topic of the same name with identical records", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [source, target] = [`p${id}`, `b${id}`]
      const prefix = `ident${id}`
      const topic = `${prefix}-orders`
      const records = mixedRecords(3, 80, 2)
      yield* createTopic(primary, topic, 2)
      yield* produceToPartitions(primary, topic, records)

      const replicator = yield* startReplicator(flowProps({
        source,
        target,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: `${prefix}.*`,
        extra: { "replication.policy.class": IDENTITY }
      }))

      const copied = yield* readAll(backup, topic, records.length)
      expect(copied.length).toBe(2)
      expect(viewByPartition(copied)).toEqual(expectedByPartition(records, 2))
      expect(yield* endOffsets(backup, topic)).toEqual(yield* endOffsets(primary, topic))
      // no prefixed remote topic next to it
      expect((yield* listTopics(backup)).filter((n) => n.includes(prefix))).toEqual([topic])
      yield* replicator.expectRunning
    }), 120_000)
})

describe("active-active a->b and b->a (DefaultReplicationPolicy)", () => {
  it.scopedLive("replicates both ways without loops, although the filter accepts remote topics", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [a, b] = [`a${id}`, `b${id}`]
      const prefix = `aa${id}`
      const x = `${prefix}-x`
      const y = `${prefix}-y`
      // Java regex: optional chains of alias prefixes, so a.x, b.y, b.a.x, a.b.y ... all match
      const topics = `(${a}\\.|${b}\\.)*${prefix}-.*`
      const filter = makeTopicFilter({ include: [topics] })
      expect(Either.isRight(filter)).toBe(true)
      if (Either.isRight(filter)) {
        for (const name of [x, y, `${a}.${x}`, `${b}.${y}`, `${b}.${a}.${x}`, `${a}.${b}.${y}`]) {
          expect(filter.right.shouldReplicate(name), `filter accepts ${name}`).toBe(true)
        }
      }

      const xRecords = indexedRecords("x", 60, 2)
      const yRecords = mixedRecords(5, 45, 3)
      yield* createTopic(primary, x, 2)
      yield* createTopic(backup, y, 3)
      yield* produceToPartitions(primary, x, xRecords.slice(0, 30))
      yield* produceToPartitions(backup, y, yRecords.slice(0, 20))

      const replicator = yield* startReplicator({
        "clusters": `${a}, ${b}`,
        [`${a}.bootstrap.servers`]: primary,
        [`${b}.bootstrap.servers`]: backup,
        [`${a}->${b}.enabled`]: "true",
        [`${b}->${a}.enabled`]: "true",
        "topics": topics,
        "replication.factor": "-1",
        "heartbeats.topic.replication.factor": "1",
        "offset-syncs.topic.replication.factor": "1",
        "checkpoints.topic.replication.factor": "1",
        "heartbeats.replication.enabled": "false",
        "refresh.topics.interval.seconds": "1",
        [`${a}.offset.flush.interval.ms`]: "500",
        [`${b}.offset.flush.interval.ms`]: "500",
        "admin.timeout.ms": "15000"
      })
      expect(replicator.settings.flows.map((f) => f.name).sort()).toEqual([`${a}->${b}`, `${b}->${a}`].sort())

      yield* waitForCount(backup, `${a}.${x}`, 30)
      yield* waitForCount(primary, `${b}.${y}`, 20)
      // more records once both remote topics exist (a loop, if any, would now carry them around)
      yield* produceToPartitions(primary, x, xRecords.slice(30))
      yield* produceToPartitions(backup, y, yRecords.slice(20))

      const ax = yield* readAll(backup, `${a}.${x}`, xRecords.length)
      const by = yield* readAll(primary, `${b}.${y}`, yRecords.length)
      expect(viewByPartition(ax)).toEqual(expectedByPartition(xRecords, 2))
      expect(viewByPartition(by)).toEqual(expectedByPartition(yRecords, 3))

      // several refresh intervals: enough for a looping flow to discover and create b.a.x / a.b.y
      yield* Effect.sleep("5 seconds")

      const onPrimary = (yield* listTopics(primary)).filter((n) => n.includes(prefix)).sort()
      const onBackup = (yield* listTopics(backup)).filter((n) => n.includes(prefix)).sort()
      expect(onPrimary).toEqual([`${b}.${y}`, x].sort())
      expect(onBackup).toEqual([`${a}.${x}`, y].sort())
      for (const n of [...onPrimary, ...onBackup]) {
        expect(n.startsWith(`${a}.${b}.`) || n.startsWith(`${b}.${a}.`), `doubly-prefixed ${n}`).toBe(false)
      }

      // exact counts: nothing replicated back into the originals, nothing duplicated
      expect(sum(yield* endOffsets(primary, x))).toBe(xRecords.length)
      expect(sum(yield* endOffsets(backup, y))).toBe(yRecords.length)
      expect(yield* endOffsets(backup, `${a}.${x}`)).toEqual(yield* endOffsets(primary, x))
      expect(yield* endOffsets(primary, `${b}.${y}`)).toEqual(yield* endOffsets(backup, y))
      yield* replicator.expectRunning
    }), 120_000)
})
