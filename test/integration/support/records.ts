/**
 * Building test records and comparing them byte for byte. `view` turns a record into plain data
 * (bytes as hex, null kept distinct from empty) so `toEqual` diffs stay readable.
 */
import type { KafkaRecord } from "../../../src/kafka/KafkaRecord.js"
import type { ByPartition, OutRecord } from "./kafka.js"

type Bytes = string | Buffer | null

const bytes = (b: Bytes): Buffer | null => (b === null ? null : Buffer.isBuffer(b) ? b : Buffer.from(b, "utf8"))

/** A record to write; strings are UTF-8. Timestamp defaults to now. */
export const rec = (r: {
  readonly key?: Bytes
  readonly value?: Bytes
  readonly headers?: ReadonlyArray<readonly [string, Bytes]>
  readonly timestamp?: number | string
}): OutRecord => ({
  key: bytes(r.key ?? null),
  value: bytes(r.value === undefined ? null : r.value),
  headers: (r.headers ?? []).map(([key, value]) => ({ key, value: bytes(value) })),
  timestamp: String(r.timestamp ?? Date.now())
})

export interface RecordView {
  readonly key: string | null
  readonly value: string | null
  readonly headers: ReadonlyArray<readonly [string, string | null]>
  readonly timestamp: string
}

const hex = (b: Buffer | null): string | null => (b === null ? null : `0x${b.toString("hex")}`)

/** Key, value, headers (in order) and timestamp, bytes as `0x..` hex; offsets are left out. */
export const view = (r: OutRecord | KafkaRecord): RecordView => ({
  key: hex(r.key),
  value: hex(r.value),
  headers: r.headers.map((h) => [h.key, hex(h.value)] as const),
  timestamp: r.timestamp
})

/** `records` grouped by their partition, order kept: the expected content of each partition. */
export const expectedByPartition = (
  records: ReadonlyArray<readonly [number, OutRecord]>,
  partitions: number
): Array<Array<RecordView>> => {
  const out: Array<Array<RecordView>> = Array.from({ length: partitions }, () => [])
  for (const [p, r] of records) out[p]!.push(view(r))
  return out
}

export const viewByPartition = (read: ByPartition): Array<Array<RecordView>> => read.map((rs) => rs.map(view))

/** Deterministic pseudo-random bytes (a tiny LCG), so a failing run can be reproduced. */
export const pseudoRandomBytes = (seed: number, length: number): Buffer => {
  const out = Buffer.alloc(length)
  let x = (seed * 2654435761) >>> 0
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0
    out[i] = x >>> 24
  }
  return out
}

/**
 * An explicit instant one hour before the test run (whole seconds). Not a fixed date: the brokers
 * keep the default time retention (7 days), and a segment whose records carry older timestamps is
 * deleted by the first retention check (30 s after broker start, then every 5 minutes), which
 * would silently empty source and target topics in the middle of a test. One hour back also stays
 * clear of the broker's limit on timestamps in the future.
 */
export const BASE_TIMESTAMP = Math.floor(Date.now() / 1000) * 1000 - 3_600_000

/**
 * `n` records exercising what MM2 must copy verbatim, each with its explicit partition (not the
 * key's hash partition): keys, null keys, a key repeated across partitions, tombstones (null
 * values), empty values, binary values, headers with duplicate keys, null and empty values, and
 * integer-like keys ("1", "b", "0" must keep that order), and explicit, non-monotonic timestamps
 * (including 0 and one 40 days back).
 */
export const mixedRecords = (topicIndex: number, n: number, partitions: number): Array<readonly [number, OutRecord]> => {
  const out: Array<readonly [number, OutRecord]> = []
  for (let i = 0; i < n; i++) {
    const key: Bytes = i % 5 === 0 ? null : i % 7 === 0 ? "same-key" : `key-${topicIndex}-${i}`
    const value: Bytes = i % 6 === 1
      ? null // tombstone
      : i % 6 === 2
      ? Buffer.alloc(0) // empty, must not become null
      : i % 6 === 3
      ? pseudoRandomBytes(topicIndex * 100_000 + i, 1 + (i % 40))
      : `value-${topicIndex}-${i}-äöü-€`
    const headers: ReadonlyArray<readonly [string, Bytes]> = i % 4 === 0
      ? []
      : i % 4 === 1
      ? [["h", "1"], ["dup", null], ["h", "2"], ["empty", ""], ["h", "3"], ["dup", null]]
      : i % 4 === 2
      ? [["1", "one"], ["b", "bee"], ["0", "zero"]]
      : [["bin", pseudoRandomBytes(i, 8)], ["", "empty-key"], ["10", null], ["2", "two"]]
    // out of order on purpose (CreateTime does not have to grow); a few far apart: the epoch
    // itself and 40 days back (every partition also holds recent records, so time retention,
    // which looks at a segment's newest timestamp, keeps them)
    const timestamp = i % 17 === 5
      ? 0
      : i % 17 === 11
      ? BASE_TIMESTAMP - 40 * 86_400_000
      : BASE_TIMESTAMP + ((i * 7919) % n) * 1_000 + topicIndex
    // explicit partition, deliberately unrelated to the key
    const partition = (i * 2 + topicIndex) % partitions
    out.push([partition, rec({ key, value, headers, timestamp })])
  }
  return out
}

/** Simple records whose value carries `tag` and the index: `${tag}:${i}`. */
export const indexedRecords = (tag: string, n: number, partitions: number): Array<readonly [number, OutRecord]> =>
  Array.from({ length: n }, (_, i) =>
    [i % partitions, rec({ key: `k${i}`, value: `${tag}:${i}`, headers: [["i", String(i)]], timestamp: BASE_TIMESTAMP + i })] as const
  )
