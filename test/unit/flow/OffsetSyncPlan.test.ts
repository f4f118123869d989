import { describe, expect, it } from "@effect/vitest"
import { INITIAL, MAX_LAG_POINTS, plan } from "../../../src/flow/OffsetSyncPlan.js"
import { type AckedBatch, advance, type PartitionMapping } from "../../../src/flow/ReplicationLog.js"
import type { KafkaRecord } from "../../../src/kafka/KafkaRecord.js"

const rec = (offset: number): KafkaRecord => ({ key: null, value: null, headers: [], timestamp: "0", offset: String(offset) })
const batch = (offsets: ReadonlyArray<number>, targetBase: number): AckedBatch => ({
  sourceTopic: "t",
  targetTopic: "a.t",
  partition: 0,
  records: offsets.map(rec),
  targetBaseOffset: BigInt(targetBase)
})
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const pairs = (xs: ReadonlyArray<{ source: bigint; target: bigint }>) => xs.map((p) => [Number(p.source), Number(p.target)])

describe("offset sync plan", () => {
  it("syncs where MM2 does for contiguous data (spec 6.3 example): first record, every offset.lag.max + 1, the tail at flush", () => {
    const m = advance(undefined, batch(range(0, 250), 1000))!
    const p = plan(INITIAL, m, 100)
    expect(pairs(p.immediate)).toEqual([[0, 1000], [101, 1101], [202, 1202]])
    expect(pairs([p.delayed!])).toEqual([[250, 1250]])
    // later rounds continue from the last immediate sync, not from the flushed tail
    const m2 = advance(m, batch(range(251, 300), 1251))!
    const p2 = plan(p.next, m2, 100)
    expect(p2.immediate).toEqual([])
    expect(pairs([p2.delayed!])).toEqual([[300, 1300]])
    const m3 = advance(m2, batch(range(301, 303), 1301))!
    expect(pairs(plan(p2.next, m3, 100).immediate)).toEqual([[303, 1303]])
  })

  it("offset.lag.max = 0 syncs every record", () => {
    const p = plan(INITIAL, advance(undefined, batch(range(0, 4), 10))!, 0)
    expect(pairs(p.immediate)).toEqual([[0, 10], [1, 11], [2, 12], [3, 13], [4, 14]])
    expect(p.delayed).toBeUndefined()
  })

  it("syncs on both sides of every gap in the source (transaction markers, compaction) and at re-sent batches", () => {
    // commit markers at 3 and 7: records 0-2, 4-6, 8-9
    const m = advance(undefined, batch([0, 1, 2, 4, 5, 6, 8, 9], 50))!
    expect(pairs(plan(INITIAL, m, 100).immediate)).toEqual([[0, 50], [2, 52], [4, 53], [6, 55], [8, 56]])
    // the same records written again after a restart land further on: a new run, synced with the end of the last one
    const p1 = plan(INITIAL, m, 100)
    const resent = advance(m, batch([8, 9], 58))!
    expect(pairs(plan(p1.next, resent, 100).immediate)).toEqual([[9, 57], [8, 58]])
  })

  it("every planned pair is a true pair of the mapping's run", () => {
    const m = advance(advance(undefined, batch(range(0, 99), 0)), batch(range(105, 2_000), 100))!
    const p = plan(INITIAL, m, 10)
    for (const s of [...p.immediate, p.delayed!]) {
      const inFirst = s.source <= 99n && s.target === s.source
      const inSecond = s.source >= 105n && s.target === s.source - 5n
      expect(inFirst || inSecond, `${s.source} -> ${s.target}`).toBe(true)
    }
    // a backlog caught up at once: two run starts and the end between them, then at most MAX_LAG_POINTS lag points
    expect(p.immediate.length).toBeLessThanOrEqual(3 + MAX_LAG_POINTS)
  })

  it("plans nothing new for a partition that did not move", () => {
    const m: PartitionMapping = advance(undefined, batch(range(0, 9), 0))!
    const p = plan(INITIAL, m, 100)
    const again = plan({ ...p.next, lastWritten: m.last }, m, 100)
    expect(again.immediate).toEqual([])
    expect(again.delayed).toBeUndefined()
  })
})
