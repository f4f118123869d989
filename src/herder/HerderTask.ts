/**
 * A duty of a herder (MM2 runs one herder per `source->target` pair): replication, heartbeats,
 * and later offset syncs, checkpoints, config and ACL sync. Each is defined in its own file and
 * registered in Tasks.ts; the herder runs every enabled one under the same supervision policy.
 * Tasks of one herder share its ReplicationLog (where the replication task's records landed).
 */
import type { Effect } from "effect"
import type { HerderSettings } from "../config/Mm2Config.js"
import type { FlowConfigError } from "../flow/FlowContext.js"
import type { ReplicationLog } from "../flow/ReplicationLog.js"
import type { KafkaClient } from "../kafka/KafkaClient.js"
import type { KafkaError } from "../kafka/KafkaError.js"
import type { TaskKind } from "../supervision/TaskState.js"

/** What a task may fail with: Kafka errors (retriable or not) and configuration errors (fatal). */
export type TaskError = KafkaError | FlowConfigError

export const isRetriable = (e: TaskError): boolean => e._tag === "KafkaError" && e.retriable

export interface HerderTask {
  /** unique within a herder, e.g. `replication` */
  readonly name: string
  readonly kind: TaskKind
  readonly enabled: (herder: HerderSettings) => boolean
  /** how logs name the task of this herder, e.g. `flow a->b` */
  readonly label: (herder: HerderSettings) => string
  /**
   * Runs on one process only when several share the flow: the one the flow's election chose
   * (Leadership.ts); the others stand by and take over when it stops or dies.
   */
  readonly once?: boolean
  /** see TaskSpec.startupDeadline */
  readonly startupDeadline?: (herder: HerderSettings) => { readonly millis: number; readonly key: string }
  /** runs until interrupted (or fails); `healthy` reports that it works */
  readonly run: (
    herder: HerderSettings,
    healthy: Effect.Effect<void>
  ) => Effect.Effect<unknown, TaskError, KafkaClient | ReplicationLog>
}
