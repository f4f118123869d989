/**
 * Our kafkajs is a private, patched instance. A kafkajs that someone else in the process loads
 * (here: the public one, loaded BEFORE ours) stays stock kafkajs, ours is patched all the same,
 * and Node's require.cache holds nothing of ours.
 */
import { describe, expect, it } from "@effect/vitest"
import { createRequire } from "node:module"
import * as path from "node:path"

const require = createRequire(import.meta.url)

// the public kafkajs first, through Node's own loader, before any module of ours is imported
const publicKafkaJs = (await import("kafkajs")).default
const kafkajsRoot = path.dirname(require.resolve("kafkajs/package.json"))

/** Node's cache entries under kafkajs's directory. */
const publicCache = () =>
  new Map(Object.entries(require.cache).filter(([file]) => file.startsWith(kafkajsRoot + path.sep)))

const cacheBefore = publicCache()
const { KafkaJsPatchError, loadKafkaJs, onOffsetOutOfRange, privateKafkaJsRequire } = await import("../../../src/kafka/internal/kafkajs.js")
const { makePrivateRequire } = await import("../../../src/kafka/internal/PrivateRequire.js")
const ours = await loadKafkaJs()
const cacheAfter = publicCache()

const PATCHED = [
  "protocol/recordBatch/record/v0/decoder.js",
  "protocol/requests/produce/v3/request.js",
  "producer/groupMessagesPerPartition.js"
]

/**
 * One record (no length prefix: the record decoder starts at the attributes) with headers
 * b="1", a=null, b="2": the interleaving and the null that kafkajs's header object loses.
 */
const craftedRecord = Buffer.from([
  0x00, // attributes
  0x00, // timestamp delta 0 (zig-zag varlong)
  0x02, // offset delta 1
  0x01, // key: null (length -1)
  0x04, 0x76, 0x31, // value: "v1"
  0x06, // 3 headers
  0x02, 0x62, 0x02, 0x31, // "b" = "1"
  0x02, 0x61, 0x01, // "a" = null
  0x02, 0x62, 0x02, 0x32 // "b" = "2"
])

type RecordDecoder = (decoder: unknown, batchContext: Record<string, unknown>) => {
  offset: string
  timestamp: string
  key: Buffer | null
  value: Buffer | null
  headers: unknown
}

const decodeWith = (Decoder: unknown, decodeRecord: unknown) =>
  (decodeRecord as RecordDecoder)(
    new (Decoder as new (b: Buffer) => unknown)(craftedRecord),
    { firstOffset: "41", firstTimestamp: "1700000000000", magicByte: 2 }
  )

describe("private kafkajs instance", () => {
  it("is loaded by Node's own loader for the public kafkajs, and ours is another instance", () => {
    expect(require.cache[require.resolve("kafkajs")]?.exports).toBe(publicKafkaJs)
    expect(ours).not.toBe(publicKafkaJs)
    expect(ours.Kafka).not.toBe(publicKafkaJs.Kafka)
    expect(ours.CompressionCodecs).not.toBe(publicKafkaJs.CompressionCodecs)
    // our codecs went to our instance only
    expect(Object.keys(ours.CompressionCodecs).sort()).toEqual(["1", "2", "3", "4"])
    expect(() => (publicKafkaJs.CompressionCodecs[publicKafkaJs.CompressionTypes.ZSTD] as () => unknown)()).toThrow(
      /ZSTD compression not implemented/
    )
  })

  it("decodes headers as an ordered list with null kept; the public kafkajs still as its header object", () => {
    const ourRecord = decodeWith(
      privateKafkaJsRequire("protocol/decoder.js"),
      privateKafkaJsRequire("protocol/recordBatch/record/v0/decoder.js")
    )
    const theirRecord = decodeWith(
      require("kafkajs/src/protocol/decoder.js"),
      require("kafkajs/src/protocol/recordBatch/record/v0/decoder.js")
    )
    for (const r of [ourRecord, theirRecord]) {
      expect(r.offset).toBe("42")
      expect(r.timestamp).toBe("1700000000000")
      expect(r.key).toBeNull()
      expect(r.value).toEqual(Buffer.from("v1"))
    }
    expect(ourRecord.headers).toEqual([
      { key: "b", value: Buffer.from("1") },
      { key: "a", value: null },
      { key: "b", value: Buffer.from("2") }
    ])
    expect(theirRecord.headers).toEqual({ b: [Buffer.from("1"), Buffer.from("2")], a: null })
  })

  it("puts nothing into Node's require.cache", () => {
    // loading ours neither added nor replaced a single entry under kafkajs's directory
    expect([...cacheAfter.keys()].sort()).toEqual([...cacheBefore.keys()].sort())
    for (const [file, module] of cacheBefore) expect(cacheAfter.get(file), file).toBe(module)
    // and no entry, even one loaded since, holds one of our patched modules
    const patched = new Set(PATCHED.map(privateKafkaJsRequire))
    for (const file of PATCHED) require(path.join(kafkajsRoot, "src", file))
    for (const [file, module] of publicCache()) expect(patched.has(module?.exports), file).toBe(false)
  })

  it("the public kafkajs's lazily required modules stay stock, ours get the patches", () => {
    // kafkajs requires request versions inside functions: both instances resolve them in their own graph
    type Produce = { protocol: (v: { version: number }) => (a: unknown) => { request: { encode(): Promise<unknown> } } }
    const args = {
      acks: -1,
      timeout: 1000,
      compression: 0,
      topicData: [{ topic: "t", partitions: [{ partition: 0, messages: [{ key: null, value: null, headers: [{ key: "a", value: null }], timestamp: "0" }] }] }]
    }
    const ourProduce = (privateKafkaJsRequire("protocol/requests/produce/index.js") as Produce).protocol({ version: 7 })
    const theirProduce = (require("kafkajs/src/protocol/requests/produce/index.js") as Produce).protocol({ version: 7 })
    return Promise.all([
      expect(ourProduce(args).request.encode()).resolves.toBeDefined(),
      // stock kafkajs cannot encode an ordered header list with a null value
      expect(theirProduce(args).request.encode()).rejects.toThrow()
    ])
  })

  it("a patch can only be installed before the file is loaded", () => {
    const fresh = makePrivateRequire("kafkajs", import.meta.url)
    expect(fresh.root).toBe(kafkajsRoot)
    fresh.require("src/protocol/decoder.js")
    expect(() => fresh.install("src/protocol/decoder.js", {})).toThrow(/already loaded/)
    // a fresh private instance is stock, and independent of ours and of the public one
    expect(fresh.require("src/protocol/recordBatch/record/v0/decoder.js")).not.toBe(
      privateKafkaJsRequire("protocol/recordBatch/record/v0/decoder.js")
    )
    expect(fresh.require("src/protocol/decoder.js")).not.toBe(require("kafkajs/src/protocol/decoder.js"))
  })

  it("an out-of-range position asks the consumer's handler (seek, pause, retry); other consumers keep kafkajs's reset", async () => {
    type Recover = (this: unknown, e: { topic: string; partition: number }) => Promise<void>
    const ourRecover = (privateKafkaJsRequire("consumer/consumerGroup.js") as { prototype: { recoverFromOffsetOutOfRange: Recover } })
      .prototype.recoverFromOffsetOutOfRange
    const theirRecover = (require("kafkajs/src/consumer/consumerGroup.js") as { prototype: { recoverFromOffsetOutOfRange: Recover } })
      .prototype.recoverFromOffsetOutOfRange
    expect(ourRecover).not.toBe(theirRecover)

    // the cluster a consumer of this Kafka instance gets carries the handler
    const kafka = new ours.Kafka({ brokers: ["127.0.0.1:1"], logLevel: ours.logLevel.NOTHING })
    const asked: Array<unknown> = []
    const answers = [{ seek: "1500" }, { pause: true as const }, { retry: true as const }]
    onOffsetOutOfRange(kafka, (p) => {
      asked.push(p)
      return Promise.resolve(answers[asked.length - 1]!)
    })
    const createCluster = Object.getOwnPropertySymbols(kafka).find((s) => s.description === "private:Kafka:createCluster")!
    const cluster = ((kafka as unknown as Record<symbol, (o: unknown) => unknown>)[createCluster]!)({})
    const calls: Array<string> = []
    const group = (c: unknown) => ({
      cluster: c,
      preferredReadReplicasPerTopicPartition: {},
      logger: { info: () => undefined, error: () => undefined },
      offsetManager: {
        nextOffset: () => ({ toString: () => "1200" }),
        setDefaultOffset: (tp: unknown) => {
          calls.push(`reset ${JSON.stringify(tp)}`)
          return Promise.resolve()
        }
      },
      seek: (tpo: unknown) => calls.push(`seek ${JSON.stringify(tpo)}`),
      pause: (tps: unknown) => calls.push(`pause ${JSON.stringify(tps)}`)
    })
    for (let i = 0; i < 3; i++) await ourRecover.call(group(cluster), { topic: "orders", partition: 3 })
    expect(asked).toEqual(Array.from({ length: 3 }, () => ({ topic: "orders", partition: 3, offset: "1200" })))
    expect(calls).toEqual([
      `seek {"topic":"orders","partition":3,"offset":"1500"}`,
      `pause [{"topic":"orders","partitions":[3]}]`
    ])
    // a cluster without a handler (any other consumer of our kafkajs): kafkajs's own reset
    calls.length = 0
    await ourRecover.call(group({}), { topic: "orders", partition: 3 })
    expect(calls).toEqual([`reset {"topic":"orders","partition":3}`])
  })

  it("KafkaJsPatchError is a named, tagged Error", () => {
    const e = new KafkaJsPatchError({ message: "kafkajs patch did not apply: x" })
    expect(e).toBeInstanceOf(Error)
    expect(e.name).toBe("KafkaJsPatchError")
    expect(e._tag).toBe("KafkaJsPatchError")
    expect(e.message).toBe("kafkajs patch did not apply: x")
  })
})
