/**
 * The herder's election of the process that runs its once-per-flow duties (Leadership.ts). Runs
 * wherever a replication flow or a once-per-flow duty does; a failure (the target refuses our
 * user the membership group, or cannot be reached) stops the duties on this process only.
 */
import type { HerderTask } from "./HerderTask.js"
import { elect } from "./Leadership.js"

export const leaderElectionTask = (duties: ReadonlyArray<HerderTask>): HerderTask => ({
  name: "leader",
  kind: "metadata",
  enabled: (h) => duties.some((t) => t.enabled(h) && (t.once === true || t.kind === "replication")),
  label: (h) => `duty election of ${h.settings.name}`,
  run: (h, healthy) => elect(h, healthy)
})
