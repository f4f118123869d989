/**
 * Translating a consumer group's committed source offset x (the next record it would read) to
 * the target offset where it must resume: the target position of the first record with a source
 * offset of x or more. The rule that matters most: never past that position (a consumer failing
 * over must not skip a record); after that, as exact as the data allows.
 *
 * Two sources of truth:
 * - the herder's ReplicationLog: the runs this process wrote (one-to-one stretches of records,
 *   see ReplicationLog.ts). Within what it remembers, translation is exact, across gaps
 *   (transaction markers, compaction) and re-sent batches alike.
 * - offset syncs (ours and Java MM2's), read back from the offset syncs topic: true pairs
 *   (u -> d). Between two of them the answer is bounded below by both, and the larger bound is
 *   taken: max(d_i + 1, d_j - (u_j - x)). It is exact whenever no gap lies strictly between two
 *   consecutive syncs, which is how our writer places them (on both sides of every gap); with
 *   other syncs it may re-read, never skip.
 */
import type { OffsetPair, PartitionMapping } from "./ReplicationLog.js"

/** At most this many syncs are kept per partition; the oldest go first. */
export const MAX_SYNCS = 4096

/**
 * Syncs of one partition, ordered by source and target offset alike. A sync whose target offset
 * is beyond the newest one while its source offset is not (records written again after a
 * restart) starts the history anew: the older pairs describe copies the target has moved past.
 * An older pair read again (a sync task restarted and re-wrote it) takes its place in order.
 */
export const addSync = (history: ReadonlyArray<OffsetPair>, s: OffsetPair): ReadonlyArray<OffsetPair> => {
  const last = history[history.length - 1]
  if (last === undefined) return [s]
  if (s.source > last.source && s.target > last.target) {
    return history.length < MAX_SYNCS ? [...history, s] : [...history.slice(history.length - MAX_SYNCS + 1), s]
  }
  if (s.source <= last.source && s.target > last.target) return [s]
  // an older pair: insert in order if consistent with its neighbours, else ignore
  let i = history.length
  while (i > 0 && history[i - 1]!.source > s.source) i--
  const before = history[i - 1]
  const after = history[i]
  if (before !== undefined && before.source === s.source) return history
  if ((before !== undefined && before.target >= s.target) || (after !== undefined && after.target <= s.target)) return history
  return [...history.slice(0, i), s, ...history.slice(i)]
}

/**
 * What the syncs say about x: the true position lies in [lower, upper]; undefined below the
 * oldest sync. lower == upper means exact. Past the newest sync, each source offset up to x holds
 * at most one more target record: a group one past the newest sync is exact, one further on may
 * re-read records that were not replicated yet when it failed over (they arrive later).
 */
export const translationBounds = (
  history: ReadonlyArray<OffsetPair>,
  x: bigint
): { readonly lower: bigint; readonly upper: bigint } | undefined => {
  // the last sync at or before x (binary search: sources are increasing)
  let lo = 0
  let hi = history.length - 1
  let i = -1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (history[mid]!.source <= x) {
      i = mid
      lo = mid + 1
    } else {
      hi = mid - 1
    }
  }
  if (i < 0) return undefined
  const at = history[i]!
  if (at.source === x) return { lower: at.target, upper: at.target }
  const next = history[i + 1]
  const forward = at.target + (x - at.source)
  if (next === undefined) return { lower: at.target + 1n, upper: forward }
  const fromNext = next.target - (next.source - x)
  return {
    lower: fromNext > at.target + 1n ? fromNext : at.target + 1n,
    upper: forward < next.target ? forward : next.target
  }
}

/**
 * Failback: the source offset where a group that consumed the remote topic up to target offset
 * y (the next record it would read there) resumes on the source: the first source record whose
 * copy it has not read. Between syncs (u_i, d_i) <= y < (u_j, d_j), each target record stands for
 * at least one source offset, so the true x lies in [u_i + (y - d_i), u_j - (d_j - y)]; lower ==
 * upper means exact. Undefined below the oldest sync.
 */
export const reverseTranslationBounds = (
  history: ReadonlyArray<OffsetPair>,
  y: bigint
): { readonly lower: bigint; readonly upper: bigint | undefined } | undefined => {
  let lo = 0
  let hi = history.length - 1
  let i = -1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (history[mid]!.target <= y) {
      i = mid
      lo = mid + 1
    } else {
      hi = mid - 1
    }
  }
  if (i < 0) return undefined
  const at = history[i]!
  const lower = at.source + (y - at.target)
  const next = history[i + 1]
  return { lower, upper: next === undefined ? undefined : next.source - (next.target - y) }
}

/** The bound from syncs: never past the true position; undefined below the oldest sync. */
export const translateWithSyncs = (history: ReadonlyArray<OffsetPair>, x: bigint): bigint | undefined =>
  translationBounds(history, x)?.lower

/** Exact translation from the runs this process wrote; undefined where the log does not reach. */
export const translateWithRuns = (m: PartitionMapping, x: bigint): bigint | undefined => {
  // past the newest record: everything up to it sits before last.target + 1
  if (x > m.last.source) return m.last.target + 1n
  const runs = m.recentRuns
  // the newest run starting at or before x holds the latest copy of x, if any run does
  for (let k = runs.length - 1; k >= 0; k--) {
    const r = runs[k]!
    if (r.source > x) continue
    const next = runs[k + 1]
    if (next === undefined) return r.target + (x - r.source)
    // run k's records fill the target from r.target up to the next run's first record
    const end = r.source + (next.target - r.target) - 1n
    return x <= end ? r.target + (x - r.source) : next.target
  }
  return undefined
}

export interface Translation {
  /** where the group resumes on the target: never past the true position */
  readonly offset: bigint
  /** how many records resuming there may read again at most (0 = exact) */
  readonly maxReread: bigint
}

/** The best safe translation: exact from the runs where they reach, else bounded by the syncs. */
export const translateBounded = (
  mapping: PartitionMapping | undefined,
  syncs: ReadonlyArray<OffsetPair> | undefined,
  x: bigint
): Translation | undefined => {
  const exact = mapping === undefined ? undefined : translateWithRuns(mapping, x)
  if (exact !== undefined) {
    // a group ahead of replication reads the records it passed again if they arrive later
    const ahead = mapping !== undefined && x > mapping.last.source + 1n ? x - mapping.last.source - 1n : 0n
    return { offset: exact, maxReread: ahead }
  }
  const bounds = syncs === undefined ? undefined : translationBounds(syncs, x)
  return bounds === undefined ? undefined : { offset: bounds.lower, maxReread: bounds.upper - bounds.lower }
}

/** translateBounded's offset alone. */
export const translate = (
  mapping: PartitionMapping | undefined,
  syncs: ReadonlyArray<OffsetPair> | undefined,
  x: bigint
): bigint | undefined => translateBounded(mapping, syncs, x)?.offset
