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

  // target producer overrides (`<target>.producer.<key>`) reach the flow and change nothing in the data
  const overrides = [
    { name: "compression.type = zstd", tag: "zstd", key: "compression.type", value: "zstd", codecs: ["lz4", "gzip"] },
    { name: "acks = 1", tag: "acks", key: "acks", value: "1", codecs: ["snappy", "zstd"] }
  ] as const
  for (const o of overrides) {
    it.scopedLive(`a target producer with ${o.name} replicates everything`, () =>
      Effect.gen(function*() {
        const primary = inject("primaryBootstrap")
        const backup = inject("backupBootstrap")
        const id = uniqueId()
        const [source, target] = [`p${id}`, `b${id}`]
        const prefix = `${o.tag}${id}`
        const topics = yield* sourceTopics(primary, prefix, o.codecs)
        const replicator = yield* startReplicator(flowProps({
          source,
          target,
          sourceBootstrap: primary,
          targetBootstrap: backup,
          topics: `${prefix}.*`,
          extra: { [`${target}.producer.${o.key}`]: o.value }
        }))
        expect(replicator.settings.flows[0]?.targetProducer.get(o.key)).toBe(o.value)
        yield* expectReplicated(backup, source, primary, topics)
        yield* replicator.expectRunning
      }), 120_000)
  }
})
