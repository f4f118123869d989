/**
 * Which offset syncs to write, from the ReplicationLog's newest mappings (pure; the
 * OffsetSyncWriter task runs it). A sync is a true pair (source offset u, target offset d of the
 * same record), so any reader translates safely with it; what matters is where they fall:
 *
 * - at the start of every run (a gap in the source offsets, a re-sent batch, a new task
 *   lifetime): exact translation restarts there, and MM2 syncs there too;
 * - at the end of every run (the record before a gap): with a sync on both sides of every gap,
 *   no gap ever lies between two consecutive syncs, and translation from syncs alone is exact
 *   (see OffsetTranslation.ts);
 * - within a run, wherever MM2 would sync (spec §6.3): each time the target offset passes the
 *   last immediate sync by `offset.lag.max` + 1. Runs are one-to-one, so those points are
 *   computed, not read from records;
 * - the newest record, at the next flush only (MM2's delayed syncs), so the tail of a quiet
 *   partition is synced too.
 */
import type { OffsetPair, PartitionMapping } from "./ReplicationLog.js"

/** What has been synced for one source partition. */
export interface PartitionSyncState {
  /** runs already synced (compared with PartitionMapping.runsStarted) */
  readonly runsSynced: number
  /** target offset of the last immediate sync, -1 before the first */
  readonly lastImmediateTarget: bigint
  /** the newest pair written, immediate or delayed */
  readonly lastWritten: OffsetPair | undefined
}

export const INITIAL: PartitionSyncState = { runsSynced: 0, lastImmediateTarget: -1n, lastWritten: undefined }

/** At most this many lag points per partition and round; past it, the newest ones (a backlog caught up at once). */
export const MAX_LAG_POINTS = 32

export interface Plan {
  /** pairs to write now, in order */
  readonly immediate: ReadonlyArray<OffsetPair>
  /** the newest pair, for the next flush, if not written yet */
  readonly delayed: OffsetPair | undefined
  readonly next: PartitionSyncState
}

const samePair = (a: OffsetPair | undefined, b: OffsetPair): boolean => a !== undefined && a.source === b.source && a.target === b.target

export const plan = (state: PartitionSyncState, m: PartitionMapping, offsetLagMax: number): Plan => {
  const immediate: Array<OffsetPair> = []
  let lastImmediateTarget = state.lastImmediateTarget
  // run starts not synced yet (the log remembers the latest ones; older ones were missed), each
  // after the end of the run before it: runs are one-to-one, so that end is known
  const unseen = Math.min(m.runsStarted - state.runsSynced, m.recentRuns.length)
  for (let k = m.recentRuns.length - unseen; k < m.recentRuns.length; k++) {
    const start = m.recentRuns[k]!
    const before = m.recentRuns[k - 1]
    if (before !== undefined) {
      const end = { source: before.source + (start.target - 1n - before.target), target: start.target - 1n }
      if (!samePair(state.lastWritten, end) && !samePair(immediate[immediate.length - 1], end)) immediate.push(end)
    }
    immediate.push(start)
    lastImmediateTarget = start.target
  }
  // MM2's lag points inside the current run: target offsets lastImmediate + k * (lag + 1)
  const step = BigInt(Math.max(offsetLagMax, 0)) + 1n
  const from = lastImmediateTarget < m.run.target ? m.run.target - step : lastImmediateTarget
  const count = (m.last.target - from) / step
  if (count > 0n) {
    const first = count > BigInt(MAX_LAG_POINTS) ? count - BigInt(MAX_LAG_POINTS) + 1n : 1n
    for (let k = first; k <= count; k++) {
      const target = from + k * step
      immediate.push({ source: m.run.source + (target - m.run.target), target })
    }
    lastImmediateTarget = from + count * step
  }
  const lastWritten = immediate.length > 0 ? immediate[immediate.length - 1] : state.lastWritten
  const delayed = samePair(lastWritten, m.last) ? undefined : m.last
  return { immediate, delayed, next: { runsSynced: m.runsStarted, lastImmediateTarget, lastWritten } }
}
