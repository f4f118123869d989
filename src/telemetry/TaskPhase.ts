/**
 * The state of a task as operators see it (status, metrics, readiness): the supervisor's
 * TaskState, with a running replication task that has not yet caught up told apart.
 *
 * - `starting`: started, its clusters have not answered yet
 * - `catching-up`: a replication task that runs but has not yet been caught up once (every
 *   source partition at its end offset at the same time)
 * - `running`: healthy (a replication task: and caught up once since the process started)
 * - `restarting`: failed, waits to start again (transient failure or defect)
 * - `failed`: stopped for good on a fatal error (authentication, authorization, an invalid
 *   setting, a cluster unreachable at start, a record the target refuses)
 * - `stopped`: ended without error (its work is done, or the process is stopping)
 */
import type { TaskStatus } from "../supervision/TaskState.js"
import * as Progress from "./Progress.js"

export const PHASES = ["starting", "catching-up", "running", "restarting", "failed", "stopped"] as const
export type TaskPhase = (typeof PHASES)[number]

export const phaseOf = (s: TaskStatus): TaskPhase => {
  switch (s.state._tag) {
    case "Starting":
      return "starting"
    case "Running":
      return s.kind === "replication" && !Progress.caughtUpOnce(s.herder) ? "catching-up" : "running"
    case "Restarting":
      return "restarting"
    case "Stopped":
      return s.state.fatal ? "failed" : "stopped"
  }
}
