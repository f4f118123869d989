/**
 * MirrorSourceConnector's duty: the flow's fiber tree (Flow.ts) of topic upkeep, source reader
 * and target writer. Healthy once its clusters answered and its remote topics are in place.
 */
import { Effect } from "effect"
import * as Flow from "../flow/Flow.js"
import type { HerderTask } from "./HerderTask.js"

export const ReplicationTask: HerderTask = {
  name: "replication",
  kind: "replication",
  enabled: (h) => h.replicationEnabled,
  label: (h) => `flow ${h.settings.name}`,
  startupDeadline: (h) => ({ millis: h.settings.adminTimeoutMs, key: "admin.timeout.ms" }),
  run: (h, healthy) => Flow.run(healthy).pipe(Effect.provide(Flow.layer(h.settings)))
}
