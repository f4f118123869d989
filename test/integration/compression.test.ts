/**
 * Compression on both sides: source batches written with every codec Kafka knows replicate
 * byte-identically, and target producer settings (`<target>.producer.compression.type`,
 * `<target>.producer.acks`) do not lose or alter anything.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { inject } from "vitest"
import type { Compression } from "../../src/kafka/ClientSettings.js"
import {
  createTopic,
  endOffsets,
  flowProps,
  produceToPartitions,
  readAll,
  startReplicator,
  uniqueId
} from "./support/kafka.js"
import { expectedByPartition, mixedRecords, viewByPartition } from "./support/records.js"

const CODECS: ReadonlyArray<Compression> = ["gzip", "snappy", "lz4", "zstd"]
const PARTITIONS = 2
const PER_TOPIC = 60

/** One source topic per codec; returns the topics with what was written. */
const sourceTopics = (primary: string, prefix: string, codecs: ReadonlyArray<Compression>) =>
  Effect.forEach(codecs, (codec, i) =>
    Effect.gen(function*() {
      const name = `${prefix}-${codec}`
      const records = mixedRecords(20 + i, PER_TOPIC, PARTITIONS)
      yield* createTopic(primary, name, PARTITIONS)
      // two requests per partition: several compressed batches, not just one
      yield* produceToPartitions(primary, name, records.slice(0, PER_TOPIC / 2), codec)
      yield* produceToPartitions(primary, name, records.slice(PER_TOPIC / 2), codec)
      return { name, codec, records }
    }))

const expectReplicated = (
  backup: string,
  source: string,
  primary: string,
  topics: ReadonlyArray<{ readonly name: string; readonly codec: Compression; readonly records: ReturnType<typeof mixedRecords> }>
) =>
  Effect.forEach(topics, (t) =>
    Effect.gen(function*() {
      const remote = `${source}.${t.name}`
      const copied = yield* readAll(backup, remote, t.records.length)
      expect(viewByPartition(copied), `${remote} (source written with ${t.codec})`).toEqual(
        expectedByPartition(t.records, PARTITIONS)
      )
      expect(yield* endOffsets(backup, remote), `end offsets of ${remote}`).toEqual(yield* endOffsets(primary, t.name))
    }), { discard: true })

describe("compression", () => {
  it.scopedLive("source topics written with gzip, snappy, lz4 and zstd replicate byte-identically", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [source, target] = [`p${id}`, `b${id}`]
      const prefix = `comp${id}`
      const topics = yield* sourceTopics(primary, prefix, CODECS)
      // the source reads back as written, whatever the codec
      for (const t of topics) {
        expect(viewByPartition(yield* readAll(primary, t.name, PER_TOPIC)), `source ${t.name}`).toEqual(
          expectedByPartition(t.records, PARTITIONS)
        )
      }
      const replicator = yield* startReplicator(flowProps({
        source,
        target,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: `${prefix}.*`
      }))
      yield* expectReplicated(backup, source, primary, topics)
      yield* replicator.expectRunning
    }), 120_000)

  it.scopedLive("a target producer with compression.type = zstd replicates everything", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [source, target] = [`p${id}`, `b${id}`]
      const prefix = `zstd${id}`
      const topics = yield* sourceTopics(primary, prefix, ["lz4", "gzip"])
      const replicator = yield* startReplicator(flowProps({
        source,
        target,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: `${prefix}.*`,
        extra: { [`${target}.producer.compression.type`]: "zstd" }
      }))
      expect(replicator.settings.flows[0]?.targetProducer.get("compression.type")).toBe("zstd")
      yield* expectReplicated(backup, source, primary, topics)
      yield* replicator.expectRunning
    }), 120_000)

  it.scopedLive("a target producer with acks = 1 replicates everything", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [source, target] = [`p${id}`, `b${id}`]
      const prefix = `acks${id}`
      const topics = yield* sourceTopics(primary, prefix, ["snappy", "zstd"])
      const replicator = yield* startReplicator(flowProps({
        source,
        target,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: `${prefix}.*`,
        extra: { [`${target}.producer.acks`]: "1" }
      }))
      expect(replicator.settings.flows[0]?.targetProducer.get("acks")).toBe("1")
      yield* expectReplicated(backup, source, primary, topics)
      yield* replicator.expectRunning
    }), 120_000)
})
