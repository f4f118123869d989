import { describe, expect, it } from "@effect/vitest"
import { Effect, HashMap, Option } from "effect"
import { type AckedBatch, advance, ReplicationLog, translate } from "../../../src/flow/ReplicationLog.js"
import { type KafkaRecord, topicPartitionKey } from "../../../src/kafka/KafkaRecord.js"

const rec = (offset: number): KafkaRecord => ({ key: null, value: null, headers: [], timestamp: "0", offset: String(offset) })
const batch = (offsets: ReadonlyArray<number>, targetBase: number, partition = 0): AckedBatch => ({
  sourceTopic: "t",
  targetTopic: "a.t",
  partition,
  records: offsets.map(rec),
  targetBaseOffset: BigInt(targetBase)
})
const pair = (source: number, target: number) => ({ source: BigInt(source), target: BigInt(target) })

describe("ReplicationLog.advance", () => {
  it("extends the run while source and target both continue", () => {
    const a = advance(undefined, batch([0, 1, 2], 10))!
    const b = advance(a, batch([3, 4], 13))!
    expect([b.run, b.last, b.batches]).toEqual([pair(0, 10), pair(4, 14), 2])
    expect(translate(b, 2n)).toBe(12n)
    expect(translate(b, 5n)).toBeUndefined()
  })

  it("starts a new run at a source gap (compacted or aborted records) or a target jump (a re-sent batch)", () => {
    const a = advance(undefined, batch([0, 1, 2], 10))!
    expect(advance(a, batch([5, 6], 13))!.run).toEqual(pair(5, 13))
    // the same records written again after a restart land further on
    expect(advance(a, batch([3, 4], 20))!.run).toEqual(pair(3, 20))
  })

  it("begins the run after the last gap inside a batch", () => {
    const m = advance(undefined, batch([0, 1, 4, 5, 9, 10, 11], 100))!
    expect([m.run, m.last]).toEqual([pair(9, 104), pair(11, 106)])
    expect(translate(m, 10n)).toBe(105n)
    expect(translate(m, 5n)).toBeUndefined()
  })

  it("ignores batches whose target offsets are unknown (acks = 0)", () => {
    const a = advance(undefined, batch([0], 7))
    expect(advance(a, batch([1], -1))).toBe(a)
  })
})

describe("ReplicationLog", () => {
  it.effect("keeps the newest mapping per partition, without records", () =>
    Effect.gen(function*() {
      const log = yield* ReplicationLog.make
      yield* log.record([batch([0, 1], 0, 0), batch([0], 0, 1)])
      yield* log.record([batch([2, 3], 2, 0)])
      const m = yield* log.mappings
      expect(HashMap.size(m)).toBe(2)
      const p0 = Option.getOrThrow(HashMap.get(m, topicPartitionKey("t", 0)))
      expect([p0.run, p0.last]).toEqual([pair(0, 0), pair(3, 3)])
      expect(Object.keys(p0)).not.toContain("records")
      expect((yield* log.positions).map((p) => [p.partition, p.sourceOffset, p.targetOffset]).sort()).toEqual([[0, 3n, 3n], [1, 0n, 0n]])
    }))
})
