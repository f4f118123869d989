/**
 * The single place that loads kafkajs. It loads a PRIVATE instance of kafkajs (its own module
 * cache, see PrivateRequire.ts), installs four small replacements into that cache *before*
 * kafkajs itself is loaded, wraps three methods of its consumer group, checks that all of it took
 * effect, and registers the snappy/lz4/zstd codecs. Node's `require.cache` is never touched:
 * another kafkajs in the same process (a host application's, loaded before or after us) stays
 * stock, and ours is patched in either order.
 *
 * Why patch at all (kafkajs 2.2.4 is unmaintained, so fixes are ours to carry):
 * - record decoder: kafkajs folds headers into an object, which loses the interleaving of
 *   different keys and reorders integer-like keys. MM2 copies headers byte for byte, in order,
 *   so we decode them into an ordered `{ key, value }[]` and skip the per-record object spread.
 * - produce request: kafkajs only encodes header objects and throws on a null header value
 *   (`Buffer.byteLength(null)`); ours (produceRequest.ts) encodes the ordered list, null values
 *   included, in one pass into one buffer with a native CRC32C.
 * - grouping messages per partition: kafkajs's version copies the partition array for every
 *   message (quadratic). Ours is linear, and accepts batches that are already grouped by
 *   partition (see `PRE_GROUPED`), which is how the replication writer sends them.
 * - a consumer's out-of-range position: kafkajs resets it silently (committing -2/-1 over the
 *   group's offset, metadata lost). A consumer made through `onOffsetOutOfRange` asks its handler
 *   instead (seek, pause or try again), so records that retention or deleteRecords removed before
 *   they were replicated are named, not skipped in silence. Other consumers keep kafkajs's reset.
 *   This one wraps a method of our private ConsumerGroup class: only the error path changes.
 * - rebalances: kafkajs has no rebalance listener, so a member that loses partitions cannot
 *   finish (write, acknowledge, commit) what it fetched before another member starts on them.
 *   A consumer made through `onRebalance` is told before it rejoins and after it is assigned
 *   (a wrapper around the consumer group's joinAndSync, which every (re)join goes through).
 * - fetch sizes: kafkajs's are fixed and count compressed bytes, so a well compressed source
 *   decodes to many times the memory they suggest. A consumer made through `onFetch` takes its
 *   sizes from its own sizing before each fetch (a wrapper around the consumer group's fetch),
 *   and each partition's fetched record set carries its size as fetched (a replacement of the
 *   Fetch response's record-set decoder, a file kafkajs loads before it could be wrapped).
 */
import { Data } from "effect"
import { createRequire } from "node:module"
import type * as KafkaJsTypes from "kafkajs"
import { makePrivateRequire, type PrivateRequire } from "./PrivateRequire.js"
import { makeProduceRequest, type ProduceDeps } from "./produceRequest.js"

const require = createRequire(import.meta.url)

/** Symbol under which a message array carries its own `{ [partition]: messages }` grouping. */
export const PRE_GROUPED: unique symbol = Symbol.for("effect-mm2/preGrouped")

/** Our private kafkajs instance does not behave as patched (see the message for which patch). */
export class KafkaJsPatchError extends Data.TaggedError("KafkaJsPatchError")<{ readonly message: string }> {}

export interface OrderedHeader {
  readonly key: string
  readonly value: Buffer | null
}

interface Decoder {
  readInt8(): number
  readVarLong(): { add(n: unknown): { toString(): string } }
  readVarInt(): number
  readVarIntBytes(): Buffer | null
  readVarIntString(): string
  readVarIntArray<T>(f: (d: Decoder) => T): T[]
}

interface LongStatic {
  fromValue(v: unknown): { add(n: unknown): { toString(): string } }
}

/** kafkajs's files are addressed relative to its `src/` directory, as in its own requires. */
const src = (relative: string): string => `src/${relative}`

const LOG_APPEND_TIME = 1

const decodeHeader = (decoder: Decoder): OrderedHeader => ({
  key: decoder.readVarIntString(),
  value: decoder.readVarIntBytes()
})

const patchRecordDecoder = (kafkajs: PrivateRequire, Long: LongStatic) => {
  kafkajs.install(src("protocol/recordBatch/record/v0/decoder.js"), (decoder: Decoder, batchContext: Record<string, unknown> = {}) => {
    const { firstOffset, firstTimestamp, magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext
    const attributes = decoder.readInt8()
    const timestampDelta = decoder.readVarLong()
    const timestamp = timestampType === LOG_APPEND_TIME && maxTimestamp
      ? String(maxTimestamp)
      : Long.fromValue(firstTimestamp).add(timestampDelta).toString()
    const offsetDelta = decoder.readVarInt()
    const offset = Long.fromValue(firstOffset).add(offsetDelta).toString()
    const key = decoder.readVarIntBytes()
    const value = decoder.readVarIntBytes()
    const headers = decoder.readVarIntArray(decodeHeader)
    return { magicByte, attributes, timestamp, offset, key, value, headers, isControlRecord: isControlBatch, batchContext }
  })
}

/** Our ordered header list as is; a kafkajs header object (used by non-replication producers) flattened. */
export const toOrderedHeaders = (headers: unknown): ReadonlyArray<OrderedHeader> => {
  if (headers === undefined || headers === null) return []
  if (Array.isArray(headers)) return headers as ReadonlyArray<OrderedHeader>
  const out: Array<OrderedHeader> = []
  for (const [key, v] of Object.entries(headers as Record<string, unknown>)) {
    const values = Array.isArray(v) ? v : [v]
    for (const one of values) {
      out.push({ key, value: one === null || one === undefined ? null : Buffer.isBuffer(one) ? one : Buffer.from(String(one)) })
    }
  }
  return out
}

interface GroupArgs {
  readonly topic: string
  readonly partitionMetadata: ReadonlyArray<unknown>
  readonly messages: ReadonlyArray<unknown> & { [PRE_GROUPED]?: Record<number, ReadonlyArray<unknown>> }
  readonly partitioner: (a: { topic: string; partitionMetadata: ReadonlyArray<unknown>; message: unknown }) => number
}

type GroupMessagesPerPartition = (args: GroupArgs) => Record<number, ReadonlyArray<unknown>>

const patchGroupMessagesPerPartition = (kafkajs: PrivateRequire) => {
  const group: GroupMessagesPerPartition = (args) => {
    if (args.partitionMetadata.length === 0) return {}
    const grouped = args.messages[PRE_GROUPED]
    if (grouped !== undefined) return grouped
    const result: Record<number, Array<unknown>> = {}
    for (const message of args.messages) {
      const partition = args.partitioner({ topic: args.topic, partitionMetadata: args.partitionMetadata, message })
      ;(result[partition] ??= []).push(message)
    }
    return result
  }
  kafkajs.install(src("producer/groupMessagesPerPartition.js"), group)
}

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>
  decompress(buffer: Buffer): Promise<Buffer>
}

/** The zstd binding's surface we use (`@mongodb-js/zstd`, N-API, prebuilt per platform). */
interface Zstd {
  compress(b: Buffer, level?: number): Promise<Buffer>
  decompress(b: Buffer): Promise<Buffer>
}

/**
 * zstd: a native binding that decompresses by streaming, so frames without a content size
 * (what Java's producer writes) decode whatever their size; the wasm codec used before guessed
 * a 1 MiB output buffer and failed on larger batches. Work runs on libuv's thread pool, off
 * the event loop, like lz4-napi's.
 */
const registerCodecs = (kafkajs: typeof KafkaJsTypes) => {
  const snappy = require("kafkajs-snappy") as () => Codec
  const lz4 = require("lz4-napi") as {
    compressFrame(b: Buffer): Promise<Buffer>
    decompressFrame(b: Buffer): Promise<Buffer>
  }
  const zstd = require("@mongodb-js/zstd") as Zstd
  const lz4Codec: Codec = {
    compress: (encoder) => lz4.compressFrame(encoder.buffer),
    decompress: (buffer) => lz4.decompressFrame(buffer)
  }
  const zstdCodec: Codec = {
    // level 3 is zstd's (and Kafka's) default
    compress: (encoder) => zstd.compress(encoder.buffer, 3),
    decompress: (buffer) => zstd.decompress(buffer)
  }
  const codecs = kafkajs.CompressionCodecs as unknown as Record<number, () => Codec>
  codecs[kafkajs.CompressionTypes.Snappy] = snappy
  codecs[kafkajs.CompressionTypes.LZ4] = () => lz4Codec
  codecs[kafkajs.CompressionTypes.ZSTD] = () => zstdCodec
}

// --- out-of-range positions ------------------------------------------------------------------

/** Where a kafkajs Cluster made through `onOffsetOutOfRange` keeps its consumer's handler. */
const OUT_OF_RANGE_HANDLER: unique symbol = Symbol.for("effect-mm2/onOffsetOutOfRange")
/** Marks our wrapper of `recoverFromOffsetOutOfRange` (the self-check looks for it). */
const PATCHED: unique symbol = Symbol.for("effect-mm2/patched")

/** What a consumer does with a partition whose fetch position the broker says is out of range. */
export type OutOfRangeDecision =
  /** fetch from this offset on */
  | { readonly seek: string }
  /** fetch nothing more from this partition (this consumer) */
  | { readonly pause: true }
  /** fetch the same position again (the handler waited already, if it wanted to) */
  | { readonly retry: true }

/** `offset`: the position fetched, i.e. the next offset the consumer would have read. */
export type OutOfRangeHandler = (p: { readonly topic: string; readonly partition: number; readonly offset: string }) => Promise<OutOfRangeDecision>

interface ConsumerGroupLike {
  readonly cluster: { readonly [OUT_OF_RANGE_HANDLER]?: OutOfRangeHandler }
  readonly offsetManager: { nextOffset(topic: string, partition: number): { toString(): string } }
  seek(tpo: { topic: string; partition: number; offset: string }): void
  pause(tps: ReadonlyArray<{ topic: string; partitions: ReadonlyArray<number> }>): void
}

type Recover = ((this: ConsumerGroupLike, e: { topic: string; partition: number }) => Promise<void>) & { [PATCHED]?: true }

interface ConsumerGroupClass {
  readonly prototype: { recoverFromOffsetOutOfRange: Recover }
}

/** After a handler failed (its consumer is stopping): wait a little, so the fetch loop does not spin. */
const HANDLER_FAILED_PAUSE_MS = 1_000

const patchOffsetOutOfRange = (kafkajs: PrivateRequire) => {
  const proto = (kafkajs.require(src("consumer/consumerGroup.js")) as ConsumerGroupClass).prototype
  const stock = proto.recoverFromOffsetOutOfRange
  const recover: Recover = async function(this: ConsumerGroupLike, e) {
    const handler = this.cluster[OUT_OF_RANGE_HANDLER]
    if (handler === undefined) return stock.call(this, e)
    const { topic, partition } = e
    // the position this fetch asked for: nothing resolved this partition since (one fetch at a time per broker)
    const offset = this.offsetManager.nextOffset(topic, partition).toString()
    let decision: OutOfRangeDecision
    try {
      decision = await handler({ topic, partition, offset })
    } catch {
      // never kafkajs's silent reset: leave the position as it is
      await new Promise((resolve) => setTimeout(resolve, HANDLER_FAILED_PAUSE_MS))
      return
    }
    if ("seek" in decision) this.seek({ topic, partition, offset: decision.seek })
    else if ("pause" in decision) this.pause([{ topic, partitions: [partition] }])
  }
  recover[PATCHED] = true
  proto.recoverFromOffsetOutOfRange = recover
}

/**
 * Every kafkajs Cluster `kafka` creates from now on carries `value` under `key`: how a consumer's
 * patched kafkajs internals find what that consumer was given (one Kafka instance per consumer).
 */
const attachToClusters = (kafka: KafkaJsTypes.Kafka, key: symbol, value: unknown): void => {
  const holder = kafka as unknown as Record<symbol, unknown>
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === "private:Kafka:createCluster")
  const create = symbol === undefined ? undefined : holder[symbol]
  if (symbol === undefined || typeof create !== "function") {
    throw new KafkaJsPatchError({ message: "kafkajs changed: no private:Kafka:createCluster on its Kafka instance" })
  }
  holder[symbol] = (options: unknown) => {
    const cluster = (create as (o: unknown) => Record<symbol, unknown>)(options)
    cluster[key] = value
    return cluster
  }
}

/**
 * Makes every consumer `kafka` creates from now on (our private kafkajs) ask `handler` about an
 * out-of-range position instead of resetting it. Create one Kafka instance per consumer.
 */
export const onOffsetOutOfRange = (kafka: KafkaJsTypes.Kafka, handler: OutOfRangeHandler): void => {
  attachToClusters(kafka, OUT_OF_RANGE_HANDLER, handler)
}

// --- rebalances ------------------------------------------------------------------------------

/** Where a kafkajs Cluster made through `onRebalance` keeps its consumer's listener. */
const REBALANCE_LISTENER: unique symbol = Symbol.for("effect-mm2/onRebalance")

export interface AssignedTopic {
  readonly topic: string
  readonly partitions: ReadonlyArray<number>
}

/**
 * Hears of a consumer's group membership around each (re)join, as Java's ConsumerRebalanceListener:
 * `revoking` runs BEFORE the member sends its JoinGroup (so before any other member can be given
 * these partitions: the group's new generation only forms once every member rejoined), while the
 * member still owns `owned`; `assigned` runs once the new assignment is known.
 */
export interface RebalanceListener {
  readonly revoking: (owned: ReadonlyArray<AssignedTopic>) => Promise<void>
  readonly assigned: (assigned: ReadonlyArray<AssignedTopic>, generationId: number) => Promise<void>
}

interface JoiningGroup {
  readonly cluster: { readonly [REBALANCE_LISTENER]?: RebalanceListener }
  readonly generationId: number
  assigned(): ReadonlyArray<AssignedTopic>
  heartbeat(args: { interval: number }): Promise<void>
}

type JoinAndSync = ((this: JoiningGroup) => Promise<void>) & { [PATCHED]?: true }

/** How often a member whose listener is still releasing its partitions heartbeats (it keeps its session). */
const REVOKING_HEARTBEAT_MS = 1_000

const patchJoinAndSync = (kafkajs: PrivateRequire) => {
  const proto = (kafkajs.require(src("consumer/consumerGroup.js")) as { prototype: { joinAndSync: JoinAndSync } }).prototype
  const stock = proto.joinAndSync
  const joinAndSync: JoinAndSync = async function(this: JoiningGroup) {
    const listener = this.cluster[REBALANCE_LISTENER]
    if (listener === undefined) return stock.call(this)
    const owned = this.assigned()
    if (owned.length > 0) {
      // kafkajs heartbeats only from its fetch loop, which waits for us: without these the
      // coordinator would expire the session of a member that is still releasing its partitions
      const beat = setInterval(() => {
        this.heartbeat({ interval: 0 }).catch(() => undefined)
      }, REVOKING_HEARTBEAT_MS)
      try {
        await listener.revoking(owned)
      } catch {
        // the listener reports its own failures; the member rejoins either way
      } finally {
        clearInterval(beat)
      }
    }
    await stock.call(this)
    await listener.assigned(this.assigned(), this.generationId).catch(() => undefined)
  }
  joinAndSync[PATCHED] = true
  proto.joinAndSync = joinAndSync
}

/**
 * Makes every consumer `kafka` creates from now on (our private kafkajs) tell `listener` about
 * its rebalances. Create one Kafka instance per consumer.
 */
export const onRebalance = (kafka: KafkaJsTypes.Kafka, listener: RebalanceListener): void => {
  attachToClusters(kafka, REBALANCE_LISTENER, listener)
}

let instance: PrivateRequire | undefined

/**
 * Our private kafkajs module graph with the four replacements installed (loaded before any of
 * kafkajs's own files that require them) and the consumer group's out-of-range path, joins and
 * fetches wrapped.
 */
const patchedInstance = (): PrivateRequire => {
  if (instance !== undefined) return instance
  const kafkajs = makePrivateRequire("kafkajs", import.meta.url)
  const Long = kafkajs.require(src("utils/long.js")) as LongStatic
  const Encoder = kafkajs.require(src("protocol/encoder.js")) as ProduceDeps["Encoder"]
  const codecs = kafkajs.require(src("protocol/message/compression/index.js")) as {
    lookupCodec: ProduceDeps["lookupCodec"]
  }
  patchRecordDecoder(kafkajs, Long)
  patchGroupMessagesPerPartition(kafkajs)
  patchDecodeMessages(kafkajs)
  kafkajs.install(src("protocol/requests/produce/v3/request.js"), makeProduceRequest({
    apiKey: 0,
    Encoder,
    lookupCodec: codecs.lookupCodec,
    toOrderedHeaders,
    longToBigInt: (v) => BigInt(String(v))
  }))
  // after the installs: loading the consumer group loads much of kafkajs, patched files included
  patchOffsetOutOfRange(kafkajs)
  patchJoinAndSync(kafkajs)
  patchFetch(kafkajs)
  instance = kafkajs
  return kafkajs
}

/**
 * A kafkajs-internal module of OUR (patched) instance, by its path under kafkajs's `src/`, e.g.
 * `"protocol/decoder.js"`. For tests; the public `require("kafkajs/src/...")` is stock kafkajs.
 */
export const privateKafkaJsRequire = (relativePath: string): unknown => patchedInstance().require(src(relativePath))

// --- self-check: the patches are reached through kafkajs's own requires ----------------------

type ProduceRequest = (args: {
  acks: number
  timeout: number
  compression: number
  topicData: ReadonlyArray<{ topic: string; partitions: ReadonlyArray<{ partition: number; messages: ReadonlyArray<unknown> }> }>
}) => { encode(): Promise<{ buffer: Buffer }> }

type RecordBatchDecoder = (decoder: unknown) => Promise<{ records: ReadonlyArray<{ headers: unknown }> }>

/** Headers a stock kafkajs cannot carry through: a repeated key around another, and a null value. */
const CHECK_HEADERS: ReadonlyArray<OrderedHeader> = [
  { key: "b", value: Buffer.from("1") },
  { key: "a", value: null },
  { key: "b", value: Buffer.from("2") }
]

const sameHeaders = (got: ReadonlyArray<OrderedHeader>): boolean =>
  got.length === CHECK_HEADERS.length &&
  CHECK_HEADERS.every((want, i) => {
    const h = got[i]
    return h !== undefined && h.key === want.key &&
      (want.value === null ? h.value === null : h.value !== null && want.value.equals(h.value))
  })

/** The record set of a Produce request (v3+) for one topic and one partition, without a transactional id. */
const recordSetOf = (request: Buffer): Buffer => {
  let o = 2 + 2 + 4 + 4 // transactional id (null), acks, timeout, topic count
  o += 2 + request.readInt16BE(o) // topic name
  o += 4 + 4 // partition count, partition
  const size = request.readInt32BE(o)
  return request.subarray(o + 4, o + 4 + size)
}

const patchError = (what: string, detail: string) =>
  new KafkaJsPatchError({ message: `kafkajs patch did not apply: ${what} (${detail})` })

/**
 * One record with CHECK_HEADERS encoded by kafkajs's Produce v7 request (which builds on the v3
 * one, ours) and decoded by kafkajs's RecordBatch decoder (which calls the record decoder, ours);
 * and a pre-grouped message list through the grouping. Cheap, and once per process.
 */
const selfCheck = async (kafkajs: PrivateRequire): Promise<void> => {
  const produce = kafkajs.require(src("protocol/requests/produce/v7/request.js")) as ProduceRequest
  let request: Buffer
  try {
    request = (await produce({
      acks: -1,
      timeout: 1000,
      compression: 0,
      topicData: [{ topic: "t", partitions: [{ partition: 0, messages: [{ key: null, value: null, headers: CHECK_HEADERS, timestamp: "0" }] }] }]
    }).encode()).buffer
  } catch (e) {
    throw patchError("the Produce request encoder rejects ordered headers with a null value", String(e))
  }
  const KafkaDecoder = kafkajs.require(src("protocol/decoder.js")) as new (b: Buffer) => unknown
  const decodeBatch = kafkajs.require(src("protocol/recordBatch/v0/decoder.js")) as RecordBatchDecoder
  const { records } = await decodeBatch(new KafkaDecoder(recordSetOf(request)))
  const headers = records[0]?.headers
  if (!Array.isArray(headers)) {
    throw patchError("the record decoder does not return an ordered header list", `got ${JSON.stringify(headers)}`)
  }
  if (!sameHeaders(headers as ReadonlyArray<OrderedHeader>)) {
    throw patchError("headers do not survive a produce/decode round trip in order, null kept", `got ${JSON.stringify(headers)}`)
  }
  const group = kafkajs.require(src("producer/groupMessagesPerPartition.js")) as GroupMessagesPerPartition
  const grouping = { 0: [] }
  const grouped = group({
    topic: "t",
    partitionMetadata: [{}],
    messages: Object.assign([], { [PRE_GROUPED]: grouping }),
    partitioner: () => 0
  })
  if (grouped !== grouping) throw patchError("the grouping per partition ignores PRE_GROUPED", "got a new grouping")
  const consumerGroup = kafkajs.require(src("consumer/consumerGroup.js")) as ConsumerGroupClass
  if (consumerGroup.prototype.recoverFromOffsetOutOfRange[PATCHED] !== true) {
    throw patchError("out-of-range positions are reset silently", "recoverFromOffsetOutOfRange is kafkajs's own")
  }
  if ((consumerGroup.prototype as unknown as { joinAndSync: JoinAndSync }).joinAndSync[PATCHED] !== true) {
    throw patchError("rebalances are not announced before a rejoin", "joinAndSync is kafkajs's own")
  }
  await checkFetchPatches(kafkajs, recordSetOf(request))
}

let loaded: Promise<typeof KafkaJsTypes> | undefined

/** Loads our private kafkajs once, patched (and checked) and with every codec Kafka can use. */
export const loadKafkaJs = (): Promise<typeof KafkaJsTypes> => {
  loaded ??= (async () => {
    const patched = patchedInstance()
    const kafkajs = patched.require("index.js") as typeof KafkaJsTypes
    registerCodecs(kafkajs)
    await selfCheck(patched)
    return kafkajs
  })()
  return loaded
}

/** Kafka's name of a protocol error code (e.g. 38 -> INVALID_REPLICATION_FACTOR), as kafkajs knows them. */
export const kafkaErrorName = (code: number): string => {
  const errors = privateKafkaJsRequire("protocol/error.js") as { createErrorFromCode: (code: number) => { type?: string } }
  return errors.createErrorFromCode(code).type ?? `error code ${code}`
}

// --- fetch sizes (memory bounded by decoded bytes) --------------------------------------------

/**
 * On the record list of one partition of a Fetch response (kafkajs keeps it as a batch's
 * `rawMessages`): the size of its record set as fetched, i.e. compressed. With the decoded size
 * it gives the compression ratio, which fetch sizes (compressed bytes) must follow.
 */
export const FETCHED_BYTES: unique symbol = Symbol.for("effect-mm2/fetchedBytes")

/** The size as fetched of a kafkajs batch's partition (undefined when not known). */
export const fetchedBytesOf = (batch: unknown): number | undefined => {
  const raw = typeof batch === "object" && batch !== null && "rawMessages" in batch ? batch.rawMessages : undefined
  const n = typeof raw === "object" && raw !== null ? (raw as { [FETCHED_BYTES]?: unknown })[FETCHED_BYTES] : undefined
  return typeof n === "number" ? n : undefined
}

interface FetchDecoder {
  readInt32(): number
  canReadBytes(n: number): boolean
  readBytes(n: number): Buffer
}

/** Bytes before the magic byte in every message format (offset, length, then 4 bytes that vary), and a v2 batch's fixed header size. */
const MAGIC_OFFSET = 16
const RECORD_BATCH_HEADER = 49
const RECORD_BATCH_MAGIC = 2

/**
 * The record set of one partition of a Fetch response (v4+), decoded as kafkajs does (record
 * batches, or the legacy message set; a partial batch at the end, cut by the fetch size, is not
 * an error), with its size as fetched under FETCHED_BYTES.
 */
const patchDecodeMessages = (kafkajs: PrivateRequire) => {
  const Decoder = kafkajs.require(src("protocol/decoder.js")) as new (b: Buffer) => FetchDecoder
  const decodeBatch = kafkajs.require(src("protocol/recordBatch/v0/decoder.js")) as (d: FetchDecoder) => Promise<{ records: ReadonlyArray<unknown> }>
  const decodeMessageSet = kafkajs.require(src("protocol/messageSet/decoder.js")) as (d: FetchDecoder, size: number) => Promise<Array<unknown>>
  const decodeMessages = async (decoder: FetchDecoder): Promise<Array<unknown>> => {
    const size = decoder.readInt32()
    if (size <= 0 || !decoder.canReadBytes(size)) return []
    const buffer = decoder.readBytes(size)
    const messages = new Decoder(buffer)
    let records: Array<unknown>
    if (buffer.length > MAGIC_OFFSET && buffer.readInt8(MAGIC_OFFSET) === RECORD_BATCH_MAGIC) {
      records = []
      while (messages.canReadBytes(RECORD_BATCH_HEADER)) {
        let batch: { records: ReadonlyArray<unknown> }
        try {
          batch = await decodeBatch(messages)
        } catch (e) {
          if (e instanceof Error && e.name === "KafkaJSPartialMessageError") break
          throw e
        }
        // a loop, not push(...records): a batch can hold more records than a call has arguments
        for (const r of batch.records) records.push(r)
      }
    } else {
      records = await decodeMessageSet(messages, size)
    }
    return Object.assign(records, { [FETCHED_BYTES]: size })
  }
  kafkajs.install(src("protocol/requests/fetch/v4/decodeMessages.js"), decodeMessages)
}

/** Fetch sizes (compressed bytes) for the next fetch from one broker. */
export interface FetchSizes {
  readonly maxBytes: number
  readonly maxBytesPerPartition: number
}

/** Where a kafkajs Cluster made through `onFetch` keeps its consumer's sizing. */
const FETCH_SIZES: unique symbol = Symbol.for("effect-mm2/fetchSizes")

interface FetchingGroup {
  readonly cluster: { readonly [FETCH_SIZES]?: (nodeId: number) => FetchSizes }
  maxBytes: number
  maxBytesPerPartition: number
}

type Fetch = ((this: FetchingGroup, nodeId: number) => Promise<unknown>) & { [PATCHED]?: true }

/** Before each fetch, the consumer group's fetch sizes (fields kafkajs reads for every request) come from the consumer's sizing. */
const patchFetch = (kafkajs: PrivateRequire) => {
  const proto = (kafkajs.require(src("consumer/consumerGroup.js")) as { prototype: { fetch: Fetch } }).prototype
  const stock = proto.fetch
  const fetch: Fetch = function(this: FetchingGroup, nodeId) {
    const sizes = this.cluster[FETCH_SIZES]
    if (sizes !== undefined) {
      const s = sizes(nodeId)
      this.maxBytes = s.maxBytes
      this.maxBytesPerPartition = s.maxBytesPerPartition
    }
    return stock.call(this, nodeId)
  }
  fetch[PATCHED] = true
  proto.fetch = fetch
}

/**
 * Makes every consumer `kafka` creates from now on (our private kafkajs) take its fetch sizes
 * from `sizes` before each fetch from a broker. Create one Kafka instance per consumer.
 */
export const onFetch = (kafka: KafkaJsTypes.Kafka, sizes: (nodeId: number) => FetchSizes): void => {
  attachToClusters(kafka, FETCH_SIZES, sizes)
}

/** The self-check of the two patches above: a record set through the Fetch decoding, and the wrapped fetch. */
const checkFetchPatches = async (kafkajs: PrivateRequire, recordSet: Buffer): Promise<void> => {
  const Decoder = kafkajs.require(src("protocol/decoder.js")) as new (b: Buffer) => FetchDecoder
  const decodeMessages = kafkajs.require(src("protocol/requests/fetch/v4/decodeMessages.js")) as (d: FetchDecoder) => Promise<Array<unknown>>
  const framed = Buffer.alloc(4 + recordSet.length)
  framed.writeInt32BE(recordSet.length, 0)
  recordSet.copy(framed, 4)
  const records = await decodeMessages(new Decoder(framed))
  if (records.length !== 1 || fetchedBytesOf({ rawMessages: records }) !== recordSet.length) {
    throw patchError("fetched record sets do not carry their size", `got ${records.length} records, size ${String(fetchedBytesOf({ rawMessages: records }))}`)
  }
  const consumerGroup = kafkajs.require(src("consumer/consumerGroup.js")) as { prototype: { fetch: Fetch } }
  if (consumerGroup.prototype.fetch[PATCHED] !== true) {
    throw patchError("fetch sizes do not follow the consumer's memory budget", "fetch is kafkajs's own")
  }
}
