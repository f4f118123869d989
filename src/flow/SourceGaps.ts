/**
 * What to do, and what to report, when a source partition's replication position no longer
 * lies in its log (pure; SourceReader acts on it). Java MM2 resets such a position per
 * `auto.offset.reset` without a word; effect-mm2 does the same reset but names exactly which
 * offsets were never replicated, so nothing vanishes silently.
 *
 * Inputs: our position p (the next offset we would read), the partition's log start s and log
 * end e now, the policy, and whether the topic was deleted and recreated (its topic id changed).
 *
 * - Removed (p < s, same topic: retention or deleteRecords ran before we replicated them):
 *   records p..s-1 are lost. earliest: continue at s; latest: continue at e, and s..e-1 are
 *   skipped too (lost p..e-1); none: the partition stops (p..s-1 are gone anyway).
 * - Truncated (p > e, same topic: e.g. an unclean leader election): records e..p-1 we already
 *   replicated no longer exist on the source; nothing is lost. earliest: continue at s (s..e-1
 *   are replicated again); latest: continue at e; none: the partition stops.
 * - Recreated (topic id changed, whatever p is): the old topic was replicated up to p-1; what it
 *   held from p on cannot be known any more (it is gone) and is not counted. The new topic's log
 *   began at 0, so its records 0..s-1 (if s > 0) were removed before we could replicate them.
 *   earliest: continue at s (lost 0..s-1); latest: continue at e (lost 0..e-1); none: the
 *   partition stops (lost 0..s-1).
 */
import type { AutoOffsetReset } from "../kafka/ClientSettings.js"

export type GapCause = "removed" | "truncated" | "recreated"

export interface GapInput {
  /** source cluster alias, as the report starts */
  readonly cluster: string
  readonly topic: string
  readonly partition: number
  /** next offset replication would read */
  readonly position: bigint
  readonly logStart: bigint
  readonly logEnd: bigint
  readonly reset: AutoOffsetReset
  /** the topic id changed: the topic was deleted and recreated */
  readonly recreated?: { readonly from: string; readonly to: string }
  /** the cluster reports topic ids (if not, a truncated log cannot be told from a recreated topic) */
  readonly topicIdsKnown: boolean
  /** the progress group, named in the hint of a stopped partition */
  readonly group: string
}

/** An inclusive range of source offsets. */
export interface OffsetRange {
  readonly first: bigint
  readonly last: bigint
}

export interface GapPlan {
  readonly cause: GapCause
  /** the records never replicated, when any (one contiguous range in every case) */
  readonly lost: OffsetRange | undefined
  readonly lostRecords: bigint
  /** where replication continues; undefined: the partition stops (auto.offset.reset = none) */
  readonly resumeAt: bigint | undefined
  /** the one ERROR line reporting it */
  readonly message: string
}

const range = (first: bigint, last: bigint): OffsetRange | undefined => (last >= first ? { first, last } : undefined)

const records = (r: OffsetRange): string => (r.first === r.last ? `record ${r.first} was` : `records ${r.first}..${r.last} were`)

const count = (r: OffsetRange | undefined): bigint => (r === undefined ? 0n : r.last - r.first + 1n)

/** Where replication continues per policy, and the line that says so. */
const resume = (i: GapInput, tp: string): { at: bigint | undefined; text: string } => {
  switch (i.reset) {
    case "earliest":
      return { at: i.logStart, text: `continuing at ${i.logStart} per auto.offset.reset=earliest` }
    case "latest":
      return { at: i.logEnd, text: `continuing at the log end ${i.logEnd} per auto.offset.reset=latest` }
    case "none":
      return {
        at: undefined,
        text: `replication of ${tp} STOPPED per auto.offset.reset=none (the other partitions go on); to resume it, ` +
          `stop the replicator and move group '${i.group}' on ${i.topic}:${i.partition} ` +
          `(kafka-consumer-groups.sh --reset-offsets --to-earliest), or set ${i.cluster}.consumer.auto.offset.reset=earliest`
      }
  }
}

/** The lost part of [from, logEnd) when `latest` skips what is still there: removed, then skipped. */
const lostText = (removed: OffsetRange | undefined, skipped: OffsetRange | undefined, removedHow: string): string => {
  const parts: Array<string> = []
  if (removed !== undefined) parts.push(`${records(removed)} ${removedHow}`)
  if (skipped !== undefined) parts.push(`${records(skipped)} skipped`)
  return parts.join(", and ")
}

/** What to do about a partition at `position`; undefined when the position is fine (in the log, same topic). */
export const planGap = (i: GapInput): GapPlan | undefined => {
  const tp = `${i.topic}-${i.partition}`
  const head = `${i.cluster}: ${tp}: `
  const r = resume(i, tp)
  if (i.recreated !== undefined) {
    const removed = range(0n, i.logStart - 1n)
    const skipped = i.reset === "latest" ? range(i.logStart, i.logEnd - 1n) : undefined
    const lost = i.reset === "latest" ? range(0n, i.logEnd - 1n) : removed
    const old = i.position > 0n
      ? `the old topic was replicated up to offset ${i.position - 1n} (records it held after that, if any, were never replicated and can no longer be counted)`
      : "nothing of the old topic had been replicated"
    const ofNew = lost === undefined
      ? "nothing of the new topic is lost"
      : `of the new topic, ${lostText(removed, skipped, `removed before they were replicated (log start is ${i.logStart})`)}`
    return {
      cause: "recreated",
      lost,
      lostRecords: count(lost),
      resumeAt: r.at,
      message: `${head}topic ${i.topic} was deleted and recreated (topic id ${i.recreated.from} is now ${i.recreated.to}): ${old}; ${ofNew}; ${r.text}`
    }
  }
  if (i.position < i.logStart) {
    const removed = range(i.position, i.logStart - 1n)!
    const skipped = i.reset === "latest" ? range(i.logStart, i.logEnd - 1n) : undefined
    const lost = i.reset === "latest" ? range(i.position, i.logEnd - 1n) : removed
    return {
      cause: "removed",
      lost,
      lostRecords: count(lost),
      resumeAt: r.at,
      message: `${head}${
        lostText(removed, skipped, `removed from the source before they were replicated (log start is now ${i.logStart})`)
      }; ${r.text}`
    }
  }
  if (i.position > i.logEnd) {
    const gone = range(i.logEnd, i.position - 1n)!
    const again = i.reset === "earliest" ? range(i.logStart, i.logEnd - 1n) : undefined
    const why = i.topicIdsKnown
      ? "the source log was truncated below it (same topic id; e.g. an unclean leader election)"
      : "the source log was truncated below it, or the topic was recreated (this cluster does not report topic ids to tell)"
    return {
      cause: "truncated",
      lost: undefined,
      lostRecords: 0n,
      resumeAt: r.at,
      message: `${head}replication position ${i.position} is past the log end ${i.logEnd}: ${why}; ` +
        `${gone.first === gone.last ? `record ${gone.first}, already replicated, no longer exists` : `records ${gone.first}..${gone.last}, already replicated, no longer exist`} on the source; ` +
        `${r.text}${again === undefined ? "" : ` (${again.first === again.last ? `record ${again.first} is` : `records ${again.first}..${again.last} are`} replicated again)`}`
    }
  }
  return undefined
}

// --- the topic id next to the committed position ---------------------------------------------

/** Commit metadata of a replication position: the id of the topic it is a position in. */
export const progressMetadata = (topicId: string | undefined): string | null =>
  topicId === undefined ? null : JSON.stringify({ topicId })

/** The topic id in commit metadata written by `progressMetadata`; undefined for any other metadata. */
export const topicIdOf = (metadata: string | null | undefined): string | undefined => {
  if (metadata === null || metadata === undefined || !metadata.startsWith("{")) return undefined
  try {
    const parsed: unknown = JSON.parse(metadata)
    return typeof parsed === "object" && parsed !== null && "topicId" in parsed && typeof parsed.topicId === "string"
      ? parsed.topicId
      : undefined
  } catch {
    return undefined
  }
}
