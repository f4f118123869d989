/**
 * Which herders (flows) exist: the `clusters` list, `clusterPairs()` of spec §1.3 and the
 * `--clusters` target filter of spec §11.1.
 */
import type { ConfigIssue } from "./ConfigError.js"
import { parseBoolean, splitList } from "./JavaValues.js"

/** One ordered pair that gets a herder, i.e. replication and/or heartbeats are enabled. */
export interface HerderPair {
  readonly source: string
  readonly target: string
  readonly replicationEnabled: boolean
  readonly heartbeatsEnabled: boolean
}

export const flowName = (source: string, target: string): string => `${source}->${target}`

export interface FlowSelection {
  /** Aliases in file order, duplicates removed. */
  readonly clusters: ReadonlyArray<string>
  /** Herder pairs after the target filter, in `clusters` order (source-major). */
  readonly herderPairs: ReadonlyArray<HerderPair>
  readonly issues: ReadonlyArray<ConfigIssue>
  readonly warnings: ReadonlyArray<ConfigIssue>
}

/**
 * `s->t` replicates iff `Boolean.parseBoolean(raw["s->t.enabled"])`; it emits heartbeats iff the
 * flow-level, else top-level `emit.heartbeats.enabled` parses as true (default true). The
 * cluster-level `s.emit.heartbeats.enabled` is deliberately not consulted, as in MM2.
 */
export const selectFlows = (
  raw: ReadonlyMap<string, string>,
  targetFilter: ReadonlyArray<string> | undefined
): FlowSelection => {
  const issues: Array<ConfigIssue> = []
  const warnings: Array<ConfigIssue> = []
  const clustersValue = raw.get("clusters")
  if (clustersValue === undefined) {
    issues.push({ key: "clusters", message: "missing required list of cluster aliases, e.g. clusters = primary, backup" })
    return { clusters: [], herderPairs: [], issues, warnings }
  }
  // MM2 turns the list into a set; keep the first occurrence so output order is stable.
  const clusters = [...new Set(splitList(clustersValue))]
  if (clusters.length === 0) issues.push({ key: "clusters", message: "must list at least one cluster alias" })
  if (clusters.includes("")) {
    issues.push({ key: "clusters", message: `contains an empty alias: ${JSON.stringify(clustersValue)}` })
  }
  for (const alias of clusters) {
    if (alias.includes("->")) issues.push({ key: "clusters", message: `alias ${JSON.stringify(alias)} must not contain "->"` })
  }

  const filter = targetFilter !== undefined && targetFilter.length > 0 ? new Set(targetFilter) : undefined
  for (const alias of filter ?? []) {
    if (!clusters.includes(alias)) {
      issues.push({
        key: "--clusters",
        message: `unknown cluster alias ${JSON.stringify(alias)} (clusters = ${clusters.join(", ")})`
      })
    }
  }

  const globalHeartbeats = raw.get("emit.heartbeats.enabled")
  const herderPairs: Array<HerderPair> = []
  for (const source of clusters) {
    for (const target of clusters) {
      if (source === target) continue
      const prefix = `${flowName(source, target)}.`
      const enabledKey = `${prefix}enabled`
      const enabledValue = raw.get(enabledKey)
      const replicationEnabled = parseBoolean(enabledValue)
      if (enabledValue !== undefined && !replicationEnabled) {
        const t = enabledValue.trim().toLowerCase()
        if (t === "true") {
          warnings.push({
            key: enabledKey,
            message: `${JSON.stringify(enabledValue)} has surrounding blanks, which MM2 reads as false (Boolean.parseBoolean); flow disabled`
          })
        } else if (t !== "false") {
          warnings.push({
            key: enabledKey,
            message: `${JSON.stringify(enabledValue)} is not true or false; read as false, flow disabled`
          })
        }
      }
      const heartbeatsValue = raw.get(`${prefix}emit.heartbeats.enabled`) ?? globalHeartbeats
      const heartbeatsEnabled = heartbeatsValue === undefined ? true : parseBoolean(heartbeatsValue)
      if (!(replicationEnabled || heartbeatsEnabled)) continue
      if (filter !== undefined && !filter.has(target)) continue
      herderPairs.push({ source, target, replicationEnabled, heartbeatsEnabled })
    }
  }

  if (issues.length === 0 && herderPairs.length === 0) {
    // MM2's driver message, verbatim; concerns the whole file rather than one key.
    issues.push({ key: "", message: "No source->target replication flows." })
  }
  return { clusters, herderPairs, issues, warnings }
}
