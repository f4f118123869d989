/**
 * The single place that loads kafkajs. It installs three small replacements into kafkajs's
 * module cache *before* kafkajs itself is loaded, and registers the snappy/lz4/zstd codecs.
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
 */
import { createRequire } from "node:module"
import type * as KafkaJsTypes from "kafkajs"
import { makeProduceRequest, type ProduceDeps } from "./produceRequest.js"

const require = createRequire(import.meta.url)

/** Symbol under which a message array carries its own `{ [partition]: messages }` grouping. */
export const PRE_GROUPED: unique symbol = Symbol.for("effect-mm2/preGrouped")

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

const kafkajsFile = (relative: string): string => require.resolve(`kafkajs/src/${relative}`)

const install = (relative: string, exports: unknown): void => {
  const filename = kafkajsFile(relative)
  // A fake, already-loaded CommonJS module: later `require(filename)` calls inside kafkajs get ours.
  const Module = require("node:module") as { new (id: string): NodeJS.Module }
  const mod = new Module(filename)
  mod.filename = filename
  mod.loaded = true
  mod.exports = exports
  require.cache[filename] = mod
}

const LOG_APPEND_TIME = 1

const decodeHeader = (decoder: Decoder): OrderedHeader => ({
  key: decoder.readVarIntString(),
  value: decoder.readVarIntBytes()
})

const patchRecordDecoder = (Long: LongStatic) => {
  install("protocol/recordBatch/record/v0/decoder.js", (decoder: Decoder, batchContext: Record<string, unknown> = {}) => {
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

const patchGroupMessagesPerPartition = () => {
  install("producer/groupMessagesPerPartition.js", (args: {
    topic: string
    partitionMetadata: ReadonlyArray<unknown>
    messages: ReadonlyArray<unknown> & { [PRE_GROUPED]?: Record<number, ReadonlyArray<unknown>> }
    partitioner: (a: { topic: string; partitionMetadata: ReadonlyArray<unknown>; message: unknown }) => number
  }) => {
    if (args.partitionMetadata.length === 0) return {}
    const grouped = args.messages[PRE_GROUPED]
    if (grouped !== undefined) return grouped
    const result: Record<number, Array<unknown>> = {}
    for (const message of args.messages) {
      const partition = args.partitioner({ topic: args.topic, partitionMetadata: args.partitionMetadata, message })
      ;(result[partition] ??= []).push(message)
    }
    return result
  })
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

let loaded: Promise<typeof KafkaJsTypes> | undefined

/** Loads kafkajs once, patched and with every codec Kafka can use. */
export const loadKafkaJs = (): Promise<typeof KafkaJsTypes> => {
  loaded ??= (async () => {
    const Long = require(kafkajsFile("utils/long.js")) as LongStatic
    const Encoder = require(kafkajsFile("protocol/encoder.js")) as ProduceDeps["Encoder"]
    patchRecordDecoder(Long)
    patchGroupMessagesPerPartition()
    const codecs = require(kafkajsFile("protocol/message/compression/index.js")) as {
      lookupCodec: (type: number) => { compress(e: { buffer: Buffer }): Promise<Buffer> } | null
    }
    install("protocol/requests/produce/v3/request.js", makeProduceRequest({
      apiKey: 0,
      Encoder,
      lookupCodec: codecs.lookupCodec,
      toOrderedHeaders,
      longToBigInt: (v) => BigInt(String(v))
    }))
    const kafkajs = require("kafkajs") as typeof KafkaJsTypes
    registerCodecs(kafkajs)
    return kafkajs
  })()
  return loaded
}
