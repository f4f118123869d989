/**
 * A host application that loaded kafkajs BEFORE effect-mm2 and uses it in the same process:
 * our replication still keeps header order and null header values byte for byte (our private,
 * patched kafkajs), and the host's kafkajs producer and consumer behave as stock kafkajs.
 */
// the public kafkajs, first: evaluated before any module of ours
import kafkajs from "kafkajs"
import { describe, expect, it } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import { createRequire } from "node:module"
import { inject } from "vitest"
import { loadKafkaJs } from "../../src/kafka/internal/kafkajs.js"
import {
  createTopic,
  endOffsets,
  eventually,
  flowProps,
  type OutRecord,
  produceToPartitions,
  readAll,
  startReplicator,
  uniqueId
} from "./support/kafka.js"
import { BASE_TIMESTAMP, expectedByPartition, mixedRecords, rec, viewByPartition } from "./support/records.js"

const require = createRequire(import.meta.url)
const { Kafka, logLevel } = kafkajs

const PARTITIONS = 2
const MIXED = 40

interface PublicClient {
  connect(): Promise<void>
  disconnect(): Promise<void>
}

/** Connects a public-kafkajs client; the scope's finalizer disconnects it (also if connecting failed). */
const connected = <C extends PublicClient>(client: C): Effect.Effect<C, Error, Scope.Scope> =>
  Effect.addFinalizer(() => Effect.ignore(Effect.tryPromise(() => client.disconnect()))).pipe(
    Effect.zipRight(Effect.tryPromise({
      try: () => client.connect(),
      catch: (e) => new Error(`public kafkajs: connect failed: ${String(e)}`)
    })),
    Effect.as(client)
  )

const publicCall = <A>(what: string, f: () => Promise<A>): Effect.Effect<A, Error> =>
  Effect.tryPromise({ try: f, catch: (e) => new Error(`public kafkajs: ${what} failed: ${String(e)}`) })

/** What stock kafkajs's record decoder makes of an ordered header list: one property per key. */
const asStockHeaderObject = (headers: OutRecord["headers"]): Record<string, Buffer | null | Array<Buffer | null>> => {
  const out: Record<string, Buffer | null | Array<Buffer | null>> = {}
  for (const { key, value } of headers) {
    const seen = out[key]
    out[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value]
  }
  return out
}

describe("kafkajs loaded by the host before effect-mm2", () => {
  it.scopedLive("replication keeps header order and nulls; the host's kafkajs stays stock", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [source, target] = [`p${id}`, `b${id}`]
      const topic = `kfirst${id}-t`

      // the public kafkajs is Node's own module, loaded before ours; ours is another instance
      expect(require.cache[require.resolve("kafkajs")]?.exports).toBe(kafkajs)
      expect(yield* Effect.promise(() => loadKafkaJs())).not.toBe(kafkajs)

      yield* createTopic(primary, topic, PARTITIONS)
      const host = new Kafka({ clientId: `it-host-${id}`, brokers: [primary], logLevel: logLevel.NOTHING })

      // the host produces with its kafkajs: header objects, a repeated key as an array
      const producer = yield* connected(host.producer({ allowAutoTopicCreation: false }))
      const hostRecords = [0, 1, 2, 3].map((i) =>
        [i % PARTITIONS, rec({
          key: `host-${i}`,
          value: `from the host's kafkajs ${i}`,
          // stock kafkajs writes an object's keys in order, an array value as the key repeated
          headers: [["trace-id", `t${i}`], ["tag", "1"], ["tag", "2"], ["x-empty", ""]],
          timestamp: BASE_TIMESTAMP + i
        })] as const
      )
      yield* publicCall("send", () =>
        producer.send({
          topic,
          acks: -1,
          messages: hostRecords.map(([partition, r], i) => ({
            partition,
            key: r.key,
            value: r.value,
            headers: { "trace-id": `t${i}`, tag: ["1", "2"], "x-empty": "" },
            timestamp: r.timestamp
          }))
        }))

      // then records only our kafkajs can write: repeated keys interleaved, null header values
      const mixed = mixedRecords(3, MIXED, PARTITIONS)
      yield* produceToPartitions(primary, topic, mixed)
      const all = [...hostRecords, ...mixed]

      const replicator = yield* startReplicator(flowProps({
        source,
        target,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: `kfirst${id}.*`
      }))
      const remote = `${source}.${topic}`
      const copied = yield* readAll(backup, remote, all.length)
      expect(viewByPartition(copied), remote).toEqual(expectedByPartition(all, PARTITIONS))
      expect(yield* endOffsets(backup, remote), `end offsets of ${remote}`).toEqual(yield* endOffsets(primary, topic))

      // the host's consumer reads the source as stock kafkajs does: headers as an object
      const read: Array<{ partition: number; offset: string; headers: unknown }> = []
      const consumer = yield* connected(host.consumer({ groupId: `it-host-${id}` }))
      yield* publicCall("subscribe", () => consumer.subscribe({ topics: [topic], fromBeginning: true }))
      yield* publicCall("run", () =>
        consumer.run({
          eachMessage: async ({ partition, message }) => {
            read.push({ partition, offset: message.offset, headers: message.headers })
          }
        }))
      yield* eventually(`the host's consumer to read ${all.length} records`, Effect.sync(() => read.length), (n) => n >= all.length)
      const byPartition = Array.from({ length: PARTITIONS }, (_, p) =>
        read.filter((m) => m.partition === p).sort((a, b) => Number(a.offset) - Number(b.offset)).map((m) => m.headers))
      const expectedObjects = Array.from({ length: PARTITIONS }, (_, p) =>
        all.filter(([partition]) => partition === p).map(([, r]) => asStockHeaderObject(r.headers)))
      expect(byPartition).toEqual(expectedObjects)
      for (const m of read) expect(Array.isArray(m.headers), `headers of ${m.partition}@${m.offset}`).toBe(false)
      // e.g. mixedRecords' i % 4 == 1 record: h=1, dup=null, h=2, empty="", h=3, dup=null
      expect(expectedObjects.flat()).toContainEqual({
        h: [Buffer.from("1"), Buffer.from("2"), Buffer.from("3")],
        dup: [null, null],
        empty: Buffer.alloc(0)
      })
      yield* replicator.expectRunning
    }), 150_000)
})
