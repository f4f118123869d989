/**
 * Warnings about keys that MM2 would silently ignore: likely typos, removed keys, keys in a
 * scope where they have no effect, and flow/cluster keys naming aliases not in `clusters`.
 *
 * Unknown keys stay in the raw maps (MM2 passes them on too); these are hints only. To keep
 * noise low, a key without a near-miss among the known keys of its scope gets no warning, and
 * anything under a client prefix (`<alias>.consumer.*`, `s->t.producer.override.*`, ...) is
 * never second-guessed.
 */
import type { ConfigIssue } from "./ConfigError.js"
import {
  CLIENT_CONFIG_KEYS,
  CONNECTOR_KEYS,
  FLOW_ONLY_KEYS,
  isConfigProvidersKey,
  MM2_CONNECTOR_KEYS,
  REMOVED_KEYS,
  TOP_LEVEL_KEYS,
  TOP_LEVEL_WORKER_PREFIXES,
  WORKER_KEYS
} from "./KnownKeys.js"

/** Edit distance, abandoned early once every cell exceeds `max` (callers only care about <= max). */
export const levenshtein = (a: string, b: string, max = Number.POSITIVE_INFINITY): number => {
  if (Math.abs(a.length - b.length) > max) return max + 1
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    let best = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      const v = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost)
      row.push(v)
      best = Math.min(best, v)
    }
    if (best > max) return max + 1
    prev = row
  }
  return prev[b.length] ?? 0
}

const MAX_TYPO_DISTANCE = 2

/** The closest candidate within the typo distance; ties go to the alphabetically first. */
export const suggest = (key: string, candidates: Iterable<string>): string | undefined => {
  let best: { readonly candidate: string; readonly distance: number } | undefined
  for (const candidate of candidates) {
    const distance = levenshtein(key, candidate, MAX_TYPO_DISTANCE)
    if (distance === 0 || distance > MAX_TYPO_DISTANCE) continue
    if (best === undefined || distance < best.distance || (distance === best.distance && candidate < best.candidate)) {
      best = { candidate, distance }
    }
  }
  return best?.candidate
}

const removedMessage = (key: string): string | undefined => {
  if (!REMOVED_KEYS.has(key)) return undefined
  const replacement = REMOVED_KEYS.get(key)
  return `removed key, not supported by MM2 4.x either${replacement === undefined ? "" : `; use ${replacement}`}`
}

const typoMessage = (key: string, candidates: Iterable<string>): string | undefined => {
  const hit = suggest(key, candidates)
  return hit === undefined ? undefined : `unknown key; did you mean ${hit}?`
}

const FLOW_PREFIXES = [
  "consumer.",
  "producer.",
  "admin.",
  "source.",
  "target.",
  "transforms.",
  "predicates.",
  "errors.",
  "key.converter.",
  "value.converter.",
  "header.converter.",
  "topic.creation.",
  "replication.policy."
]
const FLOW_CANDIDATES: ReadonlySet<string> = new Set([...CONNECTOR_KEYS, ...FLOW_ONLY_KEYS])

// MM2 resolves its own `${provider:path:key}` with the top-level declarations; so does effect-mm2, everywhere
const SCOPED_PROVIDERS_MESSAGE =
  "effect-mm2 resolves ${provider:path:key} references with the top-level config.providers declarations only; ignored"

/** `s->t.<key>`: connector scope of one flow. */
const flowKeyMessage = (key: string, target: string): string | undefined => {
  const removed = removedMessage(key)
  if (removed !== undefined) return removed
  if (isConfigProvidersKey(key)) return SCOPED_PROVIDERS_MESSAGE
  if (FLOW_CANDIDATES.has(key) || FLOW_PREFIXES.some((p) => key.startsWith(p))) return undefined
  if (WORKER_KEYS.has(key)) {
    return `worker setting, which MM2 does not read per flow; set it per target cluster as ${target}.${key}`
  }
  return typoMessage(key, FLOW_CANDIDATES)
}

const CLUSTER_PREFIXES = [
  "consumer.",
  "producer.",
  "admin.",
  "offset.storage.",
  "config.storage.",
  "status.storage.",
  "key.converter.",
  "value.converter.",
  "header.converter.",
  "listeners."
]
const CLUSTER_CANDIDATES: ReadonlySet<string> = new Set([...CLIENT_CONFIG_KEYS, ...WORKER_KEYS])
const CONNECTOR_ONLY_KEYS: ReadonlySet<string> = new Set(
  [...MM2_CONNECTOR_KEYS, ...FLOW_ONLY_KEYS, "tasks.max"].filter((k) => !CLUSTER_CANDIDATES.has(k))
)

/** `<alias>.<key>`: cluster scope (clients of that cluster, and herders targeting it). */
const clusterKeyMessage = (key: string, alias: string, clusters: ReadonlyArray<string>): string | undefined => {
  const removed = removedMessage(key)
  if (removed !== undefined) return removed
  if (isConfigProvidersKey(key)) return SCOPED_PROVIDERS_MESSAGE
  if (CLUSTER_CANDIDATES.has(key) || CLUSTER_PREFIXES.some((p) => key.startsWith(p))) return undefined
  if (CONNECTOR_ONLY_KEYS.has(key)) {
    const other = clusters.find((c) => c !== alias) ?? "<target>"
    const global = FLOW_ONLY_KEYS.has(key) ? "" : `${key} (all flows) or `
    return `connector setting, which MM2 ignores at cluster scope; use ${global}${alias}->${other}.${key} (one flow)`
  }
  return typoMessage(key, CLUSTER_CANDIDATES)
}

const TOP_LEVEL_CANDIDATES: ReadonlySet<string> = new Set([...TOP_LEVEL_KEYS, ...CONNECTOR_KEYS])

// client settings effect-mm2 acts on: users set them at top level expecting an effect, MM2 gives none
const TOP_LEVEL_PRODUCER_KEYS: ReadonlySet<string> = new Set(["acks", "compression.type", "max.request.size"])
const TOP_LEVEL_CONSUMER_KEYS: ReadonlySet<string> = new Set(["auto.offset.reset", "isolation.level", "max.partition.fetch.bytes"])

/** A key with no alias or flow prefix. */
const topLevelKeyMessage = (key: string, clusters: ReadonlyArray<string>): string | undefined => {
  const alias = clusters[0] ?? "<alias>"
  const flow = clusters.length > 1 ? `${clusters[0]}->${clusters[1]}` : "<source>-><target>"
  if (key === "enabled") {
    return `MM2 copies a top-level enabled into every herder's connectors, enabling replication for all of them; effect-mm2 only enables flows with <source>-><target>.enabled = true`
  }
  // declarations of config providers are checked, and warned about, by ConfigProviders.ts
  if (TOP_LEVEL_CANDIDATES.has(key) || isConfigProvidersKey(key)) return undefined
  if (TOP_LEVEL_WORKER_PREFIXES.some((p) => key.startsWith(p))) return undefined
  if (key.startsWith("listeners.")) return undefined
  const removed = removedMessage(key)
  if (removed !== undefined) return removed
  for (const kind of ["producer", "consumer", "admin"] as const) {
    if (key.startsWith(`${kind}.`)) {
      const override = kind === "producer" ? ` or ${flow}.producer.override.${key.slice(kind.length + 1)}` : ""
      return `top-level ${kind}.* settings are ignored by MM2; use ${alias}.${key} (one cluster)${override}`
    }
  }
  if (TOP_LEVEL_PRODUCER_KEYS.has(key)) {
    return `producer setting, ignored at top level by MM2; use ${alias}.producer.${key} (one cluster) or ${flow}.producer.override.${key}`
  }
  if (TOP_LEVEL_CONSUMER_KEYS.has(key)) {
    return `consumer setting, ignored at top level by MM2; use ${alias}.consumer.${key} (one cluster) or ${flow}.source.consumer.${key}`
  }
  if (key === "use.defaults.from") {
    return `Java MM2 ignores this at top level and reads it only per flow (${flow}.${key}); effect-mm2 applies it to every flow (a flow's own value wins)`
  }
  if (FLOW_ONLY_KEYS.has(key)) return `ignored at top level, MM2 reads it only per flow; use ${flow}.${key}`
  if (WORKER_KEYS.has(key)) return `worker setting, ignored at top level by MM2; set it per target cluster, e.g. ${alias}.${key}`
  const dot = key.indexOf(".")
  if (dot > 0) {
    const rest = key.slice(dot + 1)
    if (CLUSTER_CANDIDATES.has(rest) || ["consumer.", "producer.", "admin."].some((p) => rest.startsWith(p))) {
      return `looks like a setting of cluster ${JSON.stringify(key.slice(0, dot))}, which is not listed in clusters (${
        clusters.join(", ")
      }); ignored`
    }
  }
  return typoMessage(key, TOP_LEVEL_CANDIDATES)
}

interface FlowKey {
  readonly source: string
  readonly target: string
  readonly rest: string
}

/** Splits `s->t.rest` using the known aliases first (they may contain dots), longest match wins. */
const parseFlowKey = (key: string, byLength: ReadonlyArray<string>): FlowKey | undefined => {
  for (const source of byLength) {
    if (!key.startsWith(`${source}->`)) continue
    const afterArrow = key.slice(source.length + 2)
    for (const target of byLength) {
      if (afterArrow.startsWith(`${target}.`)) return { source, target, rest: afterArrow.slice(target.length + 1) }
    }
  }
  return undefined
}

export const keyWarnings = (raw: ReadonlyMap<string, string>, clusters: ReadonlyArray<string>): Array<ConfigIssue> => {
  const byLength = [...clusters].sort((a, b) => b.length - a.length)
  const listed = clusters.join(", ")
  const warnings: Array<ConfigIssue> = []
  const warn = (key: string, message: string | undefined): void => {
    if (message !== undefined) warnings.push({ key, message })
  }
  for (const key of raw.keys()) {
    const arrow = key.indexOf("->")
    if (arrow >= 0) {
      const flow = parseFlowKey(key, byLength)
      if (flow === undefined) {
        const afterArrow = key.slice(arrow + 2)
        const dot = afterArrow.indexOf(".")
        const named = [key.slice(0, arrow), dot < 0 ? afterArrow : afterArrow.slice(0, dot)]
        const unknown = named.filter((a) => !clusters.includes(a))
        warn(
          key,
          unknown.length === 0
            ? "not of the form <source>-><target>.<key>; ignored"
            : `refers to ${unknown.length === 1 ? "cluster" : "clusters"} ${
              unknown.map((a) => JSON.stringify(a)).join(" and ")
            }, not listed in clusters (${listed}); ignored`
        )
      } else if (flow.source === flow.target) {
        warn(key, "a flow from a cluster to itself never runs; ignored")
      } else {
        warn(key, flowKeyMessage(flow.rest, flow.target))
      }
      continue
    }
    const topLevelKnown = TOP_LEVEL_CANDIDATES.has(key) || TOP_LEVEL_WORKER_PREFIXES.some((p) => key.startsWith(p))
    const alias = topLevelKnown ? undefined : byLength.find((a) => key.startsWith(`${a}.`))
    if (alias !== undefined) warn(key, clusterKeyMessage(key.slice(alias.length + 1), alias, clusters))
    else warn(key, topLevelKeyMessage(key, clusters))
  }
  return warnings
}
