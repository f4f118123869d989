/**
 * The life of one supervised task (a duty of a herder: replication, heartbeats, ...), as other
 * code and operators read it.
 */
import { Data } from "effect"

export type TaskState = Data.TaggedEnum<{
  /** started, not yet healthy */
  Starting: { readonly since: number }
  /** healthy: its clusters answered and it does its work */
  Running: { readonly since: number }
  /** failed and waits to start again; `restarts` counts restarts since it was last healthy for a while */
  Restarting: { readonly since: number; readonly restarts: number; readonly lastError: string }
  /** ended for good: a fatal error (`fatal`), or its work is done */
  Stopped: { readonly since: number; readonly reason: string; readonly fatal: boolean }
}>

export const TaskState = Data.taggedEnum<TaskState>()

/** Replication tasks decide the process's fate; metadata tasks (heartbeats, syncs) never stop it. */
export type TaskKind = "replication" | "metadata"

export interface TaskStatus {
  /** the herder, `source->target` */
  readonly herder: string
  /** the task's name within its herder, e.g. `replication`, `heartbeats` */
  readonly task: string
  readonly kind: TaskKind
  readonly state: TaskState
  /**
   * Source records this task never replicated, one entry per event, oldest first (the latest
   * MAX_LOST_RANGES); only replication tasks have any. Kept across its restarts, whatever its state.
   */
  readonly lostRanges?: ReadonlyArray<LostRange>
}

/** How many LostRanges a task keeps (older ones are dropped; the metrics keep counting). */
export const MAX_LOST_RANGES = 100

/**
 * A source partition whose replication position had left its log (see flow/SourceGaps.ts): what
 * was never replicated and what replication did about it.
 */
export interface LostRange {
  /** when it was noticed, epoch ms */
  readonly at: number
  readonly topic: string
  readonly partition: number
  /** records removed before replication, a truncated log, or a topic deleted and recreated */
  readonly cause: "removed" | "truncated" | "recreated"
  /** the offsets never replicated (inclusive, decimal); absent when none were lost */
  readonly first?: string
  readonly last?: string
  readonly records: number
  /** where replication continued; absent when the partition stopped (auto.offset.reset = none) */
  readonly resumedAt?: string
  readonly stopped: boolean
  /** the ERROR line that reported it */
  readonly message: string
}
