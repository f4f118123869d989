import { describe, expect, it } from "@effect/vitest"
import { chunksOf, recordSize, roundsOf } from "../../../src/flow/ProduceRounds.js"
import type { FetchedBatch, KafkaRecord } from "../../../src/kafka/KafkaRecord.js"

const record = (offset: number, bytes: number): KafkaRecord => ({
  key: null,
  value: Buffer.alloc(bytes),
  headers: [],
  timestamp: "1700000000000",
  offset: String(offset)
})

const batch = (topic: string, partition: number, sizes: ReadonlyArray<number>, firstOffset = 0): FetchedBatch => ({
  topic,
  partition,
  records: sizes.map((s, i) => record(firstOffset + i, s)),
  highWatermark: "0"
})

const chunks = (b: FetchedBatch, max: number) => chunksOf(b, { topic: `r.${b.topic}`, partition: b.partition, records: b.records }, max)
const offsets = (c: { source: FetchedBatch }) => c.source.records.map((r) => r.offset)

describe("chunksOf", () => {
  it("keeps a batch that fits whole, without copying it", () => {
    const b = batch("t", 0, [10, 10, 10])
    const [only, ...rest] = chunks(b, 10_000)
    expect(rest).toEqual([])
    expect(only!.source).toBe(b)
    expect(only!.bytes).toBe(b.records.reduce((n, r) => n + recordSize(r), 0))
  })

  it("cuts a large batch into consecutive chunks under the limit, in order", () => {
    const b = batch("t", 0, [400, 400, 400, 400, 400])
    const max = recordSize(b.records[0]!) * 2
    const cs = chunks(b, max)
    expect(cs.map(offsets)).toEqual([["0", "1"], ["2", "3"], ["4"]])
    for (const c of cs) {
      expect(c.bytes).toBeLessThanOrEqual(max)
      expect(c.write.records).toBe(c.source.records)
      expect(c.write.topic).toBe("r.t")
    }
  })

  it("sends a single record larger than the limit alone (the broker decides)", () => {
    const cs = chunks(batch("t", 0, [10, 5000, 10]), 1000)
    expect(cs.map(offsets)).toEqual([["0"], ["1"], ["2"]])
  })
})

describe("roundsOf", () => {
  it("puts different partitions in one round and the same partition in successive rounds", () => {
    const all = [
      ...chunks(batch("t", 0, [10, 10], 0), 1_000_000),
      ...chunks(batch("t", 1, [10], 0), 1_000_000),
      ...chunks(batch("t", 0, [10], 2), 1_000_000),
      ...chunks(batch("u", 0, [10], 0), 1_000_000),
      ...chunks(batch("t", 0, [10], 3), 1_000_000)
    ]
    const rounds = roundsOf(all)
    expect(rounds.map((r) => r.map((c) => `${c.write.topic}/${c.write.partition}@${offsets(c).join("+")}`))).toEqual([
      ["r.t/0@0+1", "r.t/1@0", "r.u/0@0"],
      ["r.t/0@2"],
      ["r.t/0@3"]
    ])
  })

  it("starts a new round when the byte budget is spent, without reordering a partition", () => {
    const all = [
      ...chunks(batch("t", 0, [100], 0), 1_000_000),
      ...chunks(batch("t", 1, [100], 0), 1_000_000),
      ...chunks(batch("t", 1, [100], 1), 1_000_000),
      ...chunks(batch("t", 2, [100], 0), 1_000_000)
    ]
    const budget = all[0]!.bytes * 2
    const rounds = roundsOf(all, budget)
    for (const r of rounds) expect(r.reduce((n, c) => n + c.bytes, 0)).toBeLessThanOrEqual(budget)
    const seen = rounds.flat().filter((c) => c.write.partition === 1).map(offsets)
    expect(seen).toEqual([["0"], ["1"]])
  })
})
