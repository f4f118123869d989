/**
 * Helpers of the scale-out test (scaleOut.test.ts): a producer that keeps producing numbered
 * records (`<partition>:<seq>`, seq = source offset), a sampler of the target's end offsets,
 * readers of the heartbeats and checkpoints that tolerate an empty topic, the
 * once-per-flow duty lines of each process's log turned into holding intervals, and the analysis
 * of a target partition's sequence (first occurrences, duplicate runs).
 */
import { Effect, Either, Fiber, Ref, type Scope } from "effect"
import { connectionSettings, producerSettings } from "../../../src/kafka/ClientSettings.js"
import { KafkaClient } from "../../../src/kafka/KafkaClient.js"
import * as KafkaJsClient from "../../../src/kafka/KafkaJsClient.js"
import * as Checkpoint from "../../../src/wire/Checkpoint.js"
import * as Heartbeat from "../../../src/wire/Heartbeat.js"
import { adminClient, type ByPartition, endOffsets, listTopics, type OutRecord, readAll, sum, toEndOffsets } from "./kafka.js"
import { rec } from "./records.js"

// ---------------------------------------------------------------------------------------------
// records
// ---------------------------------------------------------------------------------------------

/** value `<partition>:<seq>`; written to its explicit partition, so seq is its source offset */
export const numbered = (partition: number, seq: number): OutRecord =>
  rec({ key: `k${seq % 100}`, value: `${partition}:${seq}` })

export const parseNumbered = (value: Buffer | null): { readonly partition: number; readonly seq: number } | undefined => {
  if (value === null) return undefined
  const [p, s] = value.toString("utf8").split(":")
  const partition = Number(p)
  const seq = Number(s)
  return Number.isInteger(partition) && Number.isInteger(seq) ? { partition, seq } : undefined
}

// ---------------------------------------------------------------------------------------------
// the producer
// ---------------------------------------------------------------------------------------------

export interface LiveProducer {
  /** next seq per partition = what was acknowledged so far */
  readonly produced: () => ReadonlyArray<number>
  /** stops after the request in hand; fails if producing failed; returns the final counts */
  readonly stop: Effect.Effect<ReadonlyArray<number>, Error>
}

/**
 * Writes `backlog` records to every partition of `topic` at once, then, in the background,
 * `perTick` records to every partition every `every` until `stop` (or until the scope closes).
 * One producer for the whole run, one request per round, so seq == source offset.
 */
export const liveProducer = (
  bs: string,
  topic: string,
  partitions: number,
  options: { readonly backlog: number; readonly perTick: number; readonly every: number }
): Effect.Effect<LiveProducer, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    const conn = yield* Effect.orDie(connectionSettings("it", new Map([["bootstrap.servers", bs]]), "it-scale-producer"))
    const settings = yield* Effect.orDie(producerSettings("it", new Map([["compression.type", "lz4"]])))
    const producer = yield* kafka.producer(conn, settings)
    const next = Array.from({ length: partitions }, () => 0)
    const send = (n: number) =>
      Effect.gen(function*() {
        const writes = next.map((from, partition) => ({
          topic,
          partition,
          records: Array.from({ length: n }, (_, i) => numbered(partition, from + i))
        }))
        const acks = yield* producer.send(writes)
        for (let p = 0; p < partitions; p++) {
          if (!acks.some((a) => a.topic === topic && a.partition === p)) {
            return yield* Effect.fail(new Error(`produce: no acknowledgement for ${topic}[${p}]`))
          }
          next[p]! += n
        }
      })
    // the backlog in requests of 1,000 per partition: several source batches per partition
    for (let done = 0; done < options.backlog; done += 1_000) yield* send(Math.min(1_000, options.backlog - done))
    const stopping = yield* Ref.make(false)
    const loop = Effect.gen(function*() {
      while (!(yield* Ref.get(stopping))) {
        yield* send(options.perTick)
        yield* Effect.sleep(options.every)
      }
    })
    const fiber = yield* Effect.forkScoped(loop)
    return {
      produced: () => [...next],
      stop: Effect.zipRight(Ref.set(stopping, true), Fiber.join(fiber)).pipe(Effect.map(() => [...next]))
    }
  }).pipe(Effect.provide(KafkaJsClient.layer))

/**
 * Everything `topic` on `bs` holds now, per partition in offset order; nothing when it does not
 * exist or is empty (unlike readEverything, which waits for a first record).
 */
export const readWhole = (bs: string, topic: string): Effect.Effect<ByPartition, Error> =>
  Effect.gen(function*() {
    if (!(yield* listTopics(bs)).includes(topic)) return []
    const ends = yield* endOffsets(bs, topic)
    return sum(ends) === 0 ? [] : yield* readAll(bs, topic, sum(ends), "60 seconds")
  })

export interface SeenCheckpoint {
  readonly group: string
  readonly partition: number
  readonly upstream: number
  readonly downstream: number
}

/** The checkpoints in `<source>.checkpoints.internal` on `bs`, in topic order. */
export const checkpointsIn = (bs: string, source: string): Effect.Effect<ReadonlyArray<SeenCheckpoint>, Error> =>
  Effect.flatMap(readWhole(bs, `${source}.checkpoints.internal`), (ps) =>
    Effect.forEach(ps.flat(), (r) => {
      const d = Checkpoint.decode(r.key ?? new Uint8Array(), r.value ?? new Uint8Array())
      return Either.isLeft(d)
        ? Effect.fail(new Error(`undecodable checkpoint at offset ${r.offset}: ${d.left.message}`))
        : Effect.succeed({
          group: d.right.key.group,
          partition: d.right.key.partition,
          upstream: Number(d.right.value.upstreamOffset),
          downstream: Number(d.right.value.offset)
        })
    }))

/** The timestamps of the heartbeats of `source->target` in `heartbeats` on `bs`, in order. */
export const heartbeatsIn = (bs: string, source: string, target: string): Effect.Effect<Array<number>, Error> =>
  Effect.map(readWhole(bs, "heartbeats"), (ps) => {
    const key = Heartbeat.encode({ sourceClusterAlias: source, targetClusterAlias: target, timestamp: 0n }).key
    return ps.flat().filter((r) => r.key !== null && r.key.equals(key)).map((r) => Number(r.timestamp)).sort((x, y) => x - y)
  })

// ---------------------------------------------------------------------------------------------
// the target's end offsets over time
// ---------------------------------------------------------------------------------------------

export interface Sample {
  /** epoch ms */
  readonly at: number
  /** end offset per partition of the remote topic (empty while it does not exist) */
  readonly ends: ReadonlyArray<number>
}

/** Samples the end offsets of `topic` on `bs` every `every` ms until the scope closes. */
export const sampleEnds = (
  bs: string,
  topic: string,
  every: number
): Effect.Effect<{ readonly samples: () => ReadonlyArray<Sample> }, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const admin = yield* adminClient(bs)
    const samples: Array<Sample> = []
    const once = Effect.gen(function*() {
      const names = yield* admin.listTopics
      const ends = names.includes(topic) ? toEndOffsets(yield* admin.fetchTopicOffsets(topic)) : []
      samples.push({ at: Date.now(), ends })
    }).pipe(Effect.ignore)
    yield* Effect.forkScoped(Effect.forever(Effect.zipRight(once, Effect.sleep(every))))
    return { samples: () => [...samples] }
  })

/**
 * For each partition: how long after `from` its end offset first grew (undefined if it never did
 * before `until`), and the longest time it did not grow within [from, until].
 */
export const stalls = (
  samples: ReadonlyArray<Sample>,
  partitions: number,
  from: number,
  until: number
): Array<{ readonly resumedAfterMs: number | undefined; readonly longestMs: number }> =>
  Array.from({ length: partitions }, (_, p) => {
    const window = samples.filter((s) => s.at >= from && s.at <= until && s.ends.length > p)
    let resumedAfterMs: number | undefined
    let longestMs = 0
    let lastGrowth = from
    for (let i = 1; i < window.length; i++) {
      if (window[i]!.ends[p]! > window[i - 1]!.ends[p]!) {
        if (resumedAfterMs === undefined) resumedAfterMs = window[i]!.at - from
        longestMs = Math.max(longestMs, window[i]!.at - lastGrowth)
        lastGrowth = window[i]!.at
      }
    }
    longestMs = Math.max(longestMs, (window[window.length - 1]?.at ?? from) - lastGrowth)
    return { resumedAfterMs, longestMs }
  })

// ---------------------------------------------------------------------------------------------
// logs
// ---------------------------------------------------------------------------------------------

const LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+)\s+(.*)$/

export interface LogLine {
  /** epoch ms */
  readonly at: number
  readonly level: string
  readonly text: string
}

/** The dated lines of a process's output (continuation lines are left out). */
export const logLines = (output: string): Array<LogLine> =>
  output.split("\n").flatMap((l) => {
    const m = LINE.exec(l)
    return m === null ? [] : [{ at: Date.parse(m[1]!), level: m[2]!, text: m[3]! }]
  })

export const TAKES = "now runs the once-per-flow duties"
export const GIVES = "no longer runs the once-per-flow duties"

export interface DutyEvent {
  readonly at: number
  readonly kind: "takes" | "gives"
  readonly line: string
}

/** The lines of `flow` (e.g. `p->b`) in which a process took or gave up its once-per-flow duties. */
export const dutyEvents = (stdout: string, flow: string): Array<DutyEvent> =>
  logLines(stdout).flatMap((l): Array<DutyEvent> => {
    if (!l.text.includes(flow)) return []
    if (l.text.includes(TAKES)) return [{ at: l.at, kind: "takes", line: l.text }]
    if (l.text.includes(GIVES)) return [{ at: l.at, kind: "gives", line: l.text }]
    return []
  })

/** Whether the process's last duty line says it holds the duties now. */
export const holdsDuties = (stdout: string, flow: string): boolean => dutyEvents(stdout, flow).at(-1)?.kind === "takes"

export interface Holding {
  readonly process: string
  readonly from: number
  readonly to: number
}

/**
 * The intervals in which a process held the duties: from each `takes` line to the next `gives`
 * line, or to `end` (its kill or exit) when it held them to the last. Also returns what does not
 * add up (a `gives` without a `takes`, two `takes` in a row).
 */
export const holdings = (
  process: string,
  events: ReadonlyArray<DutyEvent>,
  end: number
): { readonly intervals: Array<Holding>; readonly problems: Array<string> } => {
  const intervals: Array<Holding> = []
  const problems: Array<string> = []
  let since: number | undefined
  for (const e of events) {
    if (e.kind === "takes") {
      if (since !== undefined) problems.push(`${process}: took the duties again without giving them up: ${e.line}`)
      else since = e.at
    } else if (since === undefined) {
      problems.push(`${process}: gave up duties it did not hold: ${e.line}`)
    } else {
      intervals.push({ process, from: since, to: e.at })
      since = undefined
    }
  }
  if (since !== undefined) intervals.push({ process, from: since, to: end })
  return { intervals, problems }
}

/** Every pair of intervals of different processes that overlap (touching ends do not). */
export const overlaps = (intervals: ReadonlyArray<Holding>): Array<readonly [Holding, Holding]> => {
  const out: Array<readonly [Holding, Holding]> = []
  for (let i = 0; i < intervals.length; i++) {
    for (let j = i + 1; j < intervals.length; j++) {
      const a = intervals[i]!
      const b = intervals[j]!
      if (a.process !== b.process && a.from < b.to && b.from < a.to) out.push([a, b])
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// a target partition's sequence
// ---------------------------------------------------------------------------------------------

export interface DuplicateRun {
  /** target offsets of the run's first and last record */
  readonly fromOffset: number
  readonly toOffset: number
  /** the source seqs it repeats (contiguous) */
  readonly fromSeq: number
  readonly toSeq: number
  /** how many distinct seqs had arrived before the run started (where the replay began from) */
  readonly frontier: number
}

export interface PartitionAnalysis {
  /** distinct seqs, which must be 0..n-1 arriving in order */
  readonly distinct: number
  readonly duplicates: number
  readonly runs: ReadonlyArray<DuplicateRun>
  /** records out of order, of another partition, unreadable, or replays that are not contiguous */
  readonly problems: ReadonlyArray<string>
  /** `frontierAt(o)`: distinct seqs among target offsets < o (= last seq on the target + 1) */
  readonly frontierAt: (offset: number) => number
}

/**
 * Walks a target partition in offset order: a record whose seq is the next one not seen yet is
 * new; one below it is a duplicate; one above it means a record is missing or out of order. The
 * duplicates are grouped in runs of consecutive seqs (a replay of a contiguous range).
 */
export const analyse = (
  partition: number,
  records: ReadonlyArray<{ readonly offset: string; readonly value: Buffer | null }>
): PartitionAnalysis => {
  let next = 0
  let duplicates = 0
  const runs: Array<DuplicateRun> = []
  const problems: Array<string> = []
  const note = (s: string) => {
    if (problems.length < 10) problems.push(s)
  }
  // frontier after each record, to answer frontierAt for any offset
  const frontiers: Array<readonly [number, number]> = []
  let run: { fromOffset: number; toOffset: number; fromSeq: number; toSeq: number; frontier: number } | undefined
  const closeRun = () => {
    if (run !== undefined) runs.push(run)
    run = undefined
  }
  for (const r of records) {
    const offset = Number(r.offset)
    const v = parseNumbered(r.value)
    if (v === undefined || v.partition !== partition) {
      note(`offset ${offset}: unexpected value ${r.value?.toString("utf8").slice(0, 30) ?? "null"}`)
      closeRun()
    } else if (v.seq === next) {
      next++
      closeRun()
    } else if (v.seq < next) {
      duplicates++
      if (run !== undefined && v.seq === run.toSeq + 1) {
        run.toOffset = offset
        run.toSeq = v.seq
      } else {
        if (run !== undefined && v.seq > run.toSeq + 1) {
          note(`offset ${offset}: the replay of ${run.fromSeq}..${run.toSeq} (from offset ${run.fromOffset}) skips to ${v.seq}`)
        }
        closeRun()
        run = { fromOffset: offset, toOffset: offset, fromSeq: v.seq, toSeq: v.seq, frontier: next }
      }
    } else {
      note(`offset ${offset}: seq ${v.seq} before the first occurrence of ${next}`)
      closeRun()
    }
    frontiers.push([offset, next])
  }
  closeRun()
  const frontierAt = (offset: number): number => {
    // the frontier after the last record below `offset`
    let lo = 0
    let hi = frontiers.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (frontiers[mid]![0] < offset) lo = mid + 1
      else hi = mid
    }
    return lo === 0 ? 0 : frontiers[lo - 1]![1]
  }
  return { distinct: next, duplicates, runs, problems, frontierAt }
}
