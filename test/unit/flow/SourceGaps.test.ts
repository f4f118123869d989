import { describe, expect, it } from "@effect/vitest"
import type { AutoOffsetReset } from "../../../src/kafka/ClientSettings.js"
import { type GapInput, planGap, progressMetadata, topicIdOf } from "../../../src/flow/SourceGaps.js"

const input = (position: number, logStart: number, logEnd: number, reset: AutoOffsetReset = "earliest"): GapInput => ({
  cluster: "primary",
  topic: "orders",
  partition: 3,
  position: BigInt(position),
  logStart: BigInt(logStart),
  logEnd: BigInt(logEnd),
  reset,
  topicIdsKnown: true,
  group: "effect-mm2.primary->backup"
})

const recreated = (i: GapInput): GapInput => ({ ...i, recreated: { from: "AAAAAAAAAAAAAAAAAAAAAQ", to: "AAAAAAAAAAAAAAAAAAAAAg" } })

const summary = (i: GapInput) => {
  const p = planGap(i)
  return p === undefined ? undefined : {
    cause: p.cause,
    lost: p.lost === undefined ? undefined : [Number(p.lost.first), Number(p.lost.last)],
    lostRecords: Number(p.lostRecords),
    resumeAt: p.resumeAt === undefined ? undefined : Number(p.resumeAt)
  }
}

describe("source gaps: what was never replicated, and where replication goes on", () => {
  it("a position inside the log of the same topic is no gap", () => {
    expect(planGap(input(1200, 1000, 1800))).toBeUndefined()
    expect(planGap(input(1000, 1000, 1800))).toBeUndefined()
    expect(planGap(input(1800, 1000, 1800))).toBeUndefined() // at the end: waiting for new records
  })

  it("records removed before they were replicated: earliest continues at the log start, the removed range is lost", () => {
    const i = input(1200, 1500, 1800)
    expect(summary(i)).toEqual({ cause: "removed", lost: [1200, 1499], lostRecords: 300, resumeAt: 1500 })
    expect(planGap(i)!.message).toBe(
      "primary: orders-3: records 1200..1499 were removed from the source before they were replicated (log start is now 1500); " +
        "continuing at 1500 per auto.offset.reset=earliest"
    )
  })

  it("removed, latest: continues at the log end, and what it skips counts as lost too", () => {
    const i = input(1200, 1500, 1800, "latest")
    expect(summary(i)).toEqual({ cause: "removed", lost: [1200, 1799], lostRecords: 600, resumeAt: 1800 })
    expect(planGap(i)!.message).toBe(
      "primary: orders-3: records 1200..1499 were removed from the source before they were replicated (log start is now 1500), " +
        "and records 1500..1799 were skipped; continuing at the log end 1800 per auto.offset.reset=latest"
    )
    // nothing left to skip: only the removed records
    expect(summary(input(1200, 1500, 1500, "latest"))).toEqual({ cause: "removed", lost: [1200, 1499], lostRecords: 300, resumeAt: 1500 })
  })

  it("removed, none: the partition stops (the removed records are gone anyway), and the message says how to resume", () => {
    const i = input(1200, 1500, 1800, "none")
    expect(summary(i)).toEqual({ cause: "removed", lost: [1200, 1499], lostRecords: 300, resumeAt: undefined })
    const m = planGap(i)!.message
    expect(m).toContain("primary: orders-3: records 1200..1499 were removed from the source before they were replicated (log start is now 1500)")
    expect(m).toContain("replication of orders-3 STOPPED per auto.offset.reset=none (the other partitions go on)")
    expect(m).toContain("group 'effect-mm2.primary->backup' on orders:3")
    expect(m).toContain("primary.consumer.auto.offset.reset=earliest")
  })

  it("one removed record is named as one", () => {
    expect(planGap(input(1499, 1500, 1800))!.message).toContain("record 1499 was removed from the source")
  })

  it("a log truncated below the position (same topic): nothing lost; earliest reads the log again, latest goes on at its end", () => {
    expect(summary(input(1500, 0, 1200))).toEqual({ cause: "truncated", lost: undefined, lostRecords: 0, resumeAt: 0 })
    expect(planGap(input(1500, 0, 1200))!.message).toBe(
      "primary: orders-3: replication position 1500 is past the log end 1200: the source log was truncated below it (same topic id; " +
        "e.g. an unclean leader election); records 1200..1499, already replicated, no longer exist on the source; " +
        "continuing at 0 per auto.offset.reset=earliest (records 0..1199 are replicated again)"
    )
    expect(summary(input(1500, 0, 1200, "latest"))).toEqual({ cause: "truncated", lost: undefined, lostRecords: 0, resumeAt: 1200 })
    expect(summary(input(1500, 0, 1200, "none"))).toEqual({ cause: "truncated", lost: undefined, lostRecords: 0, resumeAt: undefined })
    // without topic ids it may also be a recreated topic, and the message says so
    expect(planGap({ ...input(1500, 0, 1200), topicIdsKnown: false })!.message).toContain("or the topic was recreated")
  })

  it("a recreated topic with fewer records than the position: earliest replicates the new topic from its start", () => {
    const i = recreated(input(1500, 0, 300))
    expect(summary(i)).toEqual({ cause: "recreated", lost: undefined, lostRecords: 0, resumeAt: 0 })
    expect(planGap(i)!.message).toBe(
      "primary: orders-3: topic orders was deleted and recreated (topic id AAAAAAAAAAAAAAAAAAAAAQ is now AAAAAAAAAAAAAAAAAAAAAg): " +
        "the old topic was replicated up to offset 1499 (records it held after that, if any, were never replicated and can no " +
        "longer be counted); nothing of the new topic is lost; continuing at 0 per auto.offset.reset=earliest"
    )
  })

  it("a recreated topic with more records than the position is a gap too (fetching there would silently skip 0..position-1)", () => {
    expect(summary(recreated(input(1500, 0, 2000)))).toEqual({ cause: "recreated", lost: undefined, lostRecords: 0, resumeAt: 0 })
  })

  it("a recreated topic whose first records are already removed: those are lost; latest loses everything up to the end", () => {
    expect(summary(recreated(input(1500, 200, 800)))).toEqual({ cause: "recreated", lost: [0, 199], lostRecords: 200, resumeAt: 200 })
    expect(planGap(recreated(input(1500, 200, 800)))!.message).toContain(
      "of the new topic, records 0..199 were removed before they were replicated (log start is 200); continuing at 200 per auto.offset.reset=earliest"
    )
    expect(summary(recreated(input(1500, 200, 800, "latest")))).toEqual({ cause: "recreated", lost: [0, 799], lostRecords: 800, resumeAt: 800 })
    expect(planGap(recreated(input(1500, 200, 800, "latest")))!.message).toContain(
      "of the new topic, records 0..199 were removed before they were replicated (log start is 200), and records 200..799 were skipped; " +
        "continuing at the log end 800 per auto.offset.reset=latest"
    )
    expect(summary(recreated(input(1500, 200, 800, "none")))).toEqual({ cause: "recreated", lost: [0, 199], lostRecords: 200, resumeAt: undefined })
    expect(summary(recreated(input(1500, 0, 0, "latest")))).toEqual({ cause: "recreated", lost: undefined, lostRecords: 0, resumeAt: 0 })
  })

  it("a recreated topic of which nothing had been replicated says so", () => {
    expect(planGap(recreated(input(0, 0, 10)))!.message).toContain("nothing of the old topic had been replicated")
  })

  it("the topic id travels in the commit metadata; other metadata has none", () => {
    expect(topicIdOf(progressMetadata("MbOcyTtWRqKyr4QRc-2QyQ"))).toBe("MbOcyTtWRqKyr4QRc-2QyQ")
    expect(progressMetadata(undefined)).toBeNull()
    for (const other of [null, undefined, "", "{", "{}", "[1]", "{\"topicId\":3}", "something a tool wrote"]) {
      expect(topicIdOf(other)).toBeUndefined()
    }
  })
})
