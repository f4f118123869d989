import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Progress from "../../../src/telemetry/Progress.js"

const flowKey = () => {
  const name = `s${Math.random().toString(36).slice(2, 8)}->t`
  return { name, source: name.split("->")[0]!, target: "t" }
}

const batch = (partition: number, firstOffset: number, n: number, firstTs: number, lastTs: number): Progress.BatchSample => ({
  topic: "orders",
  remoteTopic: "s.orders",
  partition,
  records: n,
  bytes: n * 100,
  firstTimestamp: firstTs,
  lastTimestamp: lastTs,
  lastOffset: BigInt(firstOffset + n - 1)
})

describe("replication progress", () => {
  it.effect("records behind = end offset - replicated position; its age counts from the last time it was 0", () =>
    Effect.gen(function*() {
      const flow = flowKey()
      // start: end offsets read, committed positions 0 and 10 (partition 1 caught up)
      yield* Progress.observedEnds(flow, [
        { topic: "orders", remoteTopic: "s.orders", partition: 0, end: 100n, start: 0n },
        { topic: "orders", remoteTopic: "s.orders", partition: 1, end: 10n, start: 10n }
      ], 1_000)
      expect(Progress.caughtUpOnce(flow.name)).toBe(false)
      let ps = Progress.partitionsOf(flow.name, 5_000)
      expect(ps.map((p) => [p.partition, p.state, p.recordsBehind, p.recordsBehindAgeSeconds])).toEqual([
        [0, "catching-up", 100, 4],
        [1, "caught-up", 0, 0]
      ])
      // half of partition 0 written; it is still behind since t=1000
      yield* Progress.fetched(flow, batch(0, 0, 50, 500, 900), 100n, 6_000)
      yield* Progress.acknowledged(flow, batch(0, 0, 50, 500, 900), 7_000)
      ps = Progress.partitionsOf(flow.name, 8_000)
      expect(ps[0]).toMatchObject({ replicatedPosition: "50", endOffset: "100", recordsBehind: 50, recordsBehindAgeSeconds: 7 })
      // the rest: caught up, and the flow has been caught up once (for good)
      yield* Progress.acknowledged(flow, batch(0, 50, 50, 950, 990), 9_000)
      expect(Progress.partitionsOf(flow.name, 9_500)[0]).toMatchObject({ state: "caught-up", recordsBehind: 0, recordsBehindAgeSeconds: 0 })
      expect(Progress.caughtUpOnce(flow.name)).toBe(true)
      // new records arrive (seen in a fetch response): behind again, counted from t=9000
      yield* Progress.fetched(flow, batch(1, 10, 5, 9_800, 9_900), 15n, 10_000)
      expect(Progress.partitionsOf(flow.name, 12_000)[1]).toMatchObject({ recordsBehind: 5, recordsBehindAgeSeconds: 12 - 1 })
      expect(Progress.caughtUpOnce(flow.name)).toBe(true)
    }))

  it.effect("not caught up once before the end offsets were read", () =>
    Effect.gen(function*() {
      const flow = flowKey()
      yield* Progress.fetched(flow, batch(0, 0, 10, 0, 0), 10n, 1_000)
      yield* Progress.acknowledged(flow, batch(0, 0, 10, 0, 0), 1_000)
      expect(Progress.caughtUpOnce(flow.name)).toBe(false)
      yield* Progress.observedEnds(flow, [{ topic: "orders", remoteTopic: "s.orders", partition: 0, end: 10n, start: 0n }], 2_000)
      expect(Progress.caughtUpOnce(flow.name)).toBe(true)
    }))

  it.effect("a stopped partition (auto.offset.reset = none) does not hold readiness back and shows as stopped", () =>
    Effect.gen(function*() {
      const flow = flowKey()
      yield* Progress.partitionStopped(flow, "orders", "s.orders", 0, true, 0)
      yield* Progress.observedEnds(flow, [
        { topic: "orders", remoteTopic: "s.orders", partition: 0, end: 10n, start: 0n },
        { topic: "orders", remoteTopic: "s.orders", partition: 1, end: 0n, start: 0n }
      ], 0)
      expect(Progress.partitionsOf(flow.name, 0).map((p) => p.state)).toEqual(["stopped", "caught-up"])
      expect(Progress.caughtUpOnce(flow.name)).toBe(true)
    }))

  it("samples a batch by its first and last record only", () => {
    const s = Progress.sampleOf({
      topic: "orders",
      partition: 3,
      records: [{ timestamp: "1000", offset: "7" }, { timestamp: "1500", offset: "8" }, { timestamp: "2000", offset: "9" }]
    }, "s.orders", 300)
    expect(s).toEqual({
      topic: "orders",
      remoteTopic: "s.orders",
      partition: 3,
      records: 3,
      bytes: 300,
      firstTimestamp: 1000,
      lastTimestamp: 2000,
      lastOffset: 9n
    })
  })

  it.effect("checkpoints are noted on the remote partition", () =>
    Effect.gen(function*() {
      const flow = flowKey()
      yield* Progress.observedEnds(flow, [{ topic: "orders", remoteTopic: "s.orders", partition: 0, end: 0n, start: 0n }], 0)
      yield* Progress.checkpointed(flow.name, "s.orders", 0, 1234)
      expect(Progress.partitionsOf(flow.name, 0)[0]?.lastCheckpointAt).toBe(1234)
    }))
})
