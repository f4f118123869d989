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
}
