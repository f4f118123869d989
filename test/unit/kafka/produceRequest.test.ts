/**
 * Our Produce request encoder against kafkajs's own (independent) RecordBatch decoder: every
 * field of every record must survive, with each codec, and the CRC32C must be the real one.
 */
import { describe, expect, it } from "@effect/vitest"
import { crc32c } from "@node-rs/crc32"
import { loadKafkaJs, privateKafkaJsRequire } from "../../../src/kafka/internal/kafkajs.js"

interface Rec {
  key: Buffer | null
  value: Buffer | null
  headers: Array<{ key: string; value: Buffer | null }>
  timestamp: string
}

const records: Array<Rec> = [
  { key: Buffer.from("k1"), value: Buffer.from("v1"), headers: [{ key: "b", value: Buffer.from("1") }, { key: "1", value: null }, { key: "b", value: Buffer.alloc(0) }], timestamp: "1700000000005" },
  { key: null, value: null, headers: [], timestamp: "1700000000001" },
  { key: Buffer.alloc(0), value: Buffer.alloc(0), headers: [{ key: "ü-ключ", value: Buffer.from([0, 255]) }], timestamp: "999999999999" },
  { key: Buffer.from("big"), value: Buffer.alloc(70_000, 7), headers: [], timestamp: "1700000000009" }
]

const encode = async (compression: number) => {
  await loadKafkaJs()
  // kafkajs's own v7 request from our private (patched) instance: it builds on our v3 encoder
  const request = privateKafkaJsRequire("protocol/requests/produce/v7/request.js") as (a: unknown) => {
    encode: () => Promise<{ buffer: Buffer }>
  }
  const encoder = await request({
    acks: -1,
    timeout: 30000,
    compression,
    topicData: [{ topic: "orders", partitions: [{ partition: 3, messages: records }] }]
  }).encode()
  return encoder.buffer
}

const decodeBatch = async (buf: Buffer) => {
  const Decoder = privateKafkaJsRequire("protocol/decoder.js") as new (b: Buffer) => unknown
  const decodeRecordBatch = privateKafkaJsRequire("protocol/recordBatch/v0/decoder.js") as (d: unknown) => Promise<{
    records: Array<{ key: Buffer | null; value: Buffer | null; headers: Array<{ key: string; value: Buffer | null }>; timestamp: string; offset: string }>
  }>
  return decodeRecordBatch(new Decoder(buf))
}

describe("produce request encoder", () => {
  for (const [name, code] of [["none", 0], ["gzip", 1], ["snappy", 2], ["lz4", 3], ["zstd", 4]] as const) {
    it(`round-trips every record field (${name})`, async () => {
      const buf = await encode(code)
      let o = 0
      expect(buf.readInt16BE(o)).toBe(-1) // no transactional id
      o += 2
      expect(buf.readInt16BE(o)).toBe(-1) // acks
      o += 2 + 4
      expect(buf.readInt32BE(o)).toBe(1) // one topic
      o += 4
      const nameLength = buf.readInt16BE(o)
      expect(buf.subarray(o + 2, o + 2 + nameLength).toString()).toBe("orders")
      o += 2 + nameLength
      expect(buf.readInt32BE(o)).toBe(1)
      expect(buf.readInt32BE(o + 4)).toBe(3) // partition
      const batchLength = buf.readInt32BE(o + 8)
      const batch = buf.subarray(o + 12, o + 12 + batchLength)
      expect(o + 12 + batchLength).toBe(buf.length)

      expect(batch.readInt8(16)).toBe(2) // magic
      expect(batch.readUInt32BE(17)).toBe(crc32c(batch.subarray(21)) >>> 0)
      expect(batch.readInt16BE(21) & 0x07).toBe(code)
      expect(batch.readBigInt64BE(27)).toBe(999999999999n) // base timestamp = numeric minimum
      expect(batch.readBigInt64BE(35)).toBe(1700000000009n) // max timestamp

      const decoded = await decodeBatch(batch)
      expect(decoded.records.map((r) => r.offset)).toEqual(["0", "1", "2", "3"])
      decoded.records.forEach((r, i) => {
        const want = records[i]!
        expect(r.key).toEqual(want.key)
        expect(r.value).toEqual(want.value)
        expect(r.timestamp).toBe(want.timestamp)
        expect(r.headers).toEqual(want.headers)
      })
    })
  }
})
