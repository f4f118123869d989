/**
 * Offset translation against simulated partitions: sources with gaps (transaction markers,
 * compaction), written in batches of random sizes, sometimes re-sent after a "restart". For
 * every committed position x: never past the true position, exact from the runs, and from the
 * syncs exact wherever x is a record.
 */
import { describe, expect, it } from "@effect/vitest"
import { INITIAL, plan } from "../../../src/flow/OffsetSyncPlan.js"
import { addSync, reverseTranslationBounds, translate, translateWithRuns, translateWithSyncs, translationBounds } from "../../../src/flow/OffsetTranslation.js"
import { type AckedBatch, advance, type OffsetPair, type PartitionMapping } from "../../../src/flow/ReplicationLog.js"
import type { KafkaRecord } from "../../../src/kafka/KafkaRecord.js"

/** deterministic pseudo-random numbers */
const rng = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed / 0x7fffffff
}

const rec = (offset: number): KafkaRecord => ({ key: null, value: null, headers: [], timestamp: "0", offset: String(offset) })

interface Simulation {
  /** source offsets that hold records */
  readonly source: ReadonlyArray<number>
  /** target log: the source offset of the record at each target offset */
  readonly target: ReadonlyArray<number>
  readonly mapping: PartitionMapping
  readonly syncs: ReadonlyArray<OffsetPair>
}

const simulate = (seed: number, options: { readonly resend: boolean; readonly lagMax: number }): Simulation => {
  const random = rng(seed)
  const source: Array<number> = []
  for (let o = 0; source.length < 600; o++) {
    if (random() < 0.08) o += 1 + Math.floor(random() * 3) // a gap of 1-3 offsets
    source.push(o)
  }
  const target: Array<number> = []
  let mapping: PartitionMapping | undefined
  let syncState = INITIAL
  let syncs: ReadonlyArray<OffsetPair> = []
  const write = (pairs: ReadonlyArray<OffsetPair>) => {
    for (const p of pairs) syncs = addSync(syncs, p)
  }
  let i = 0
  let resent = !options.resend
  while (i < source.length) {
    const n = Math.min(source.length - i, 1 + Math.floor(random() * 40))
    const batch: AckedBatch = {
      sourceTopic: "t",
      targetTopic: "a.t",
      partition: 0,
      records: source.slice(i, i + n).map(rec),
      targetBaseOffset: BigInt(target.length)
    }
    for (const s of source.slice(i, i + n)) target.push(s)
    mapping = advance(mapping, batch)
    const p = plan(syncState, mapping!, options.lagMax)
    write(p.immediate)
    syncState = p.next
    if (p.delayed !== undefined && random() < 0.3) {
      write([p.delayed]) // a flush
      syncState = { ...syncState, lastWritten: p.delayed }
    }
    i += n
    if (!resent && i > 300) {
      // a restart re-reads from an earlier committed position and writes those records again
      resent = true
      i -= 37
    }
  }
  return { source, target, mapping: mapping!, syncs }
}

/** The target position of the first record with a source offset of x or more (no re-sends). */
const truePosition = (sim: Simulation, x: number): number => {
  const at = sim.target.findIndex((s) => s >= x)
  return at < 0 ? sim.target.length : at
}

/** With re-sends: resuming at p misses nothing iff every source record >= x has a copy at >= p. */
const safe = (sim: Simulation, x: number, p: number): boolean =>
  sim.source.filter((s) => s >= x).every((s) => sim.target.some((t, at) => t === s && at >= p))

describe("offset translation", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`is exact from the runs and never past the true position from the syncs (seed ${seed})`, () => {
      const sim = simulate(seed, { resend: false, lagMax: 10 })
      const first = sim.source[0]!
      const last = sim.source[sim.source.length - 1]!
      // below the first record replicated nothing is known (the flow may have started mid-partition)
      expect(translateWithRuns(sim.mapping, BigInt(first - 1))).toBeUndefined()
      for (let x = first; x <= last + 3; x++) {
        const truth = BigInt(truePosition(sim, x))
        expect(translateWithRuns(sim.mapping, BigInt(x)), `runs, x = ${x}`).toBe(truth)
        // syncs on both sides of every gap: exact from the syncs alone too, inside gaps included,
        // up to the newest sync (past it only the next record is known)
        const fromSyncs = translateWithSyncs(sim.syncs, BigInt(x))!
        expect(fromSyncs <= truth, `syncs, x = ${x}: ${fromSyncs} > ${truth}`).toBe(true)
        if (BigInt(x) <= sim.syncs[sim.syncs.length - 1]!.source + 1n) expect(fromSyncs, `syncs, x = ${x}`).toBe(truth)
      }
    })
  }

  for (const seed of [11, 12, 13]) {
    it(`stays safe when records were written twice after a restart (seed ${seed})`, () => {
      const sim = simulate(seed, { resend: true, lagMax: 10 })
      const last = sim.source[sim.source.length - 1]!
      for (let x = 0; x <= last + 1; x++) {
        for (const [how, p] of [["runs", translateWithRuns(sim.mapping, BigInt(x))], ["syncs", translateWithSyncs(sim.syncs, BigInt(x))]] as const) {
          if (p === undefined) continue
          expect(safe(sim, x, Number(p)), `${how}, x = ${x} -> ${p}`).toBe(true)
          expect(Number(p) <= sim.target.length, `${how} past the log end, x = ${x}`).toBe(true)
        }
      }
    })
  }

  it("without syncs or runs for a position, gives none; runs win over syncs", () => {
    expect(translateWithSyncs([], 5n)).toBeUndefined()
    expect(translateWithSyncs([{ source: 10n, target: 0n }], 5n)).toBeUndefined()
    const mapping = advance(undefined, { sourceTopic: "t", targetTopic: "a.t", partition: 0, records: [rec(100), rec(101)], targetBaseOffset: 7n })!
    expect(translateWithRuns(mapping, 50n)).toBeUndefined()
    expect(translate(mapping, [{ source: 0n, target: 0n }, { source: 100n, target: 7n }], 101n)).toBe(8n)
    expect(translate(mapping, [{ source: 0n, target: 0n }, { source: 100n, target: 7n }], 50n)).toBe(1n)
  })

  it("keeps an older sync read again in order, and restarts the history on a re-send", () => {
    const h = [{ source: 0n, target: 0n }, { source: 100n, target: 90n }]
    expect(addSync(h, { source: 50n, target: 45n })).toEqual([h[0], { source: 50n, target: 45n }, h[1]])
    expect(addSync(h, { source: 50n, target: 95n })).toEqual([{ source: 50n, target: 95n }])
    expect(addSync(h, { source: 100n, target: 90n })).toBe(h)
  })

  it("bounds the true position between syncs (MM2's own rule is the lower end when a gap may be anywhere)", () => {
    const h = [{ source: 100n, target: 50n }, { source: 110n, target: 55n }]
    // 5 records among 101..109 with the gap somewhere: 104 lies at 52..54
    expect(translationBounds(h, 104n)).toEqual({ lower: 51n, upper: 54n })
    expect(translationBounds(h, 100n)).toEqual({ lower: 50n, upper: 50n })
    // past the newest sync: at most one target record per source offset in 111..119
    expect(translationBounds(h, 120n)).toEqual({ lower: 56n, upper: 65n })
    expect(translationBounds(h, 111n)).toEqual({ lower: 56n, upper: 56n })
    expect(translationBounds(h, 99n)).toBeUndefined()
    // no gap between the syncs: exact
    expect(translationBounds([{ source: 0n, target: 0n }, { source: 10n, target: 10n }], 4n)).toEqual({ lower: 4n, upper: 4n })
  })
})

describe("MM2's worked example (spec Appendix A)", () => {
  // syncs every 100 source offsets of a partition copied one to one: (0, 5000), (100, 5100), ..., (1000, 6000)
  const history = Array.from({ length: 11 }, (_, i) => ({ source: BigInt(i * 100), target: BigInt(5000 + i * 100) }))
  const truth = (x: bigint) => 5000n + (x > 1001n ? 1001n : x)
  // what MM2 4.x answers from the 64 sparse syncs it keeps (spec Appendix A)
  const mm2: ReadonlyArray<readonly [bigint, bigint]> = [
    [0n, 5000n], [50n, 5001n], [100n, 5001n], [399n, 5001n], [400n, 5400n], [401n, 5401n],
    [799n, 5401n], [800n, 5800n], [950n, 5901n], [1000n, 6000n], [1001n, 6001n], [5000n, 6001n]
  ]

  it("is exact where MM2 re-reads up to 398 records, and never past the true position", () => {
    for (const [x, theirs] of mm2) {
      const ours = translateWithSyncs(history, x)!
      expect(ours, `source offset ${x}`).toBe(truth(x))
      expect(ours).toBeGreaterThanOrEqual(theirs)
    }
    // how much MM2 re-reads there, in records
    expect(mm2.map(([x, theirs]) => Number(truth(x) - theirs))).toEqual([0, 49, 99, 398, 0, 0, 398, 0, 49, 0, 0, 0])
  })
})

describe("failback (reverse) bounds", () => {
  it("is exact on both sides of a gap and bounded between syncs that enclose one", () => {
    // source 0..9 copied to 0..9, a transaction marker at source 10, 11..19 copied to 10..18
    const h = [{ source: 0n, target: 0n }, { source: 9n, target: 9n }, { source: 11n, target: 10n }, { source: 19n, target: 18n }]
    expect(reverseTranslationBounds(h, 5n)).toEqual({ lower: 5n, upper: 5n })
    // read up to target 9 (source 9): resumes at source 11 (the marker at 10 is no record)
    expect(reverseTranslationBounds(h, 10n)).toEqual({ lower: 11n, upper: 11n })
    expect(reverseTranslationBounds(h, 12n)).toEqual({ lower: 13n, upper: 13n })
    // past the newest sync: a lower bound only
    expect(reverseTranslationBounds(h, 20n)).toEqual({ lower: 21n, upper: undefined })
    expect(reverseTranslationBounds([{ source: 5n, target: 3n }], 2n)).toBeUndefined()
    // the gap somewhere between two syncs: bounds
    expect(reverseTranslationBounds([{ source: 0n, target: 0n }, { source: 10n, target: 9n }], 4n)).toEqual({ lower: 4n, upper: 5n })
  })
})
