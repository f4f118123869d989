/**
 * The per-flow maps MM2 derives from the file: the connector config (spec §1.6) and the herder's
 * worker config (spec §1.5). Both are left unresolved: `${provider:path:key}` references stay as
 * written, as in the connector configs MM2 stores.
 */
import { clusterPropsSourced, type Sourced, type SourcedMap, values, withPrefixStripped } from "./ClusterProps.js"
import { flowName } from "./Flows.js"
import { CONNECTOR_KEYS, TOP_LEVEL_WORKER_PREFIXES } from "./KnownKeys.js"

/** MM2's test for client-scoped cluster keys: the regex `^consumer.*|^producer.*|^admin.*`. */
export const isClientScoped = (key: string): boolean =>
  key.startsWith("consumer") || key.startsWith("producer") || key.startsWith("admin")

const USE_DEFAULTS_FROM = "use.defaults.from"

const derived = (key: string, value: string): Sourced => ({ value, origin: key })

/**
 * Spec §1.6 for flow `source->target`, with provenance. Step 5's `name`/`connector.class` are
 * left out because they differ per connector; everything else is as MM2 computes it:
 * top-level connector keys < `config.providers*`/`replication.policy*` < source cluster props
 * (as `source.cluster.*`/`source.<client>.*`) < target cluster props < aliases (if absent) <
 * `source->target.*` < `enabled=false` (if absent).
 */
export const connectorConfigSourced = (
  raw: ReadonlyMap<string, string>,
  source: string,
  target: string
): Map<string, Sourced> => {
  const props = new Map<string, Sourced>()
  for (const [key, value] of raw) if (CONNECTOR_KEYS.has(key)) props.set(key, { value, origin: key })
  // Java MM2 drops a top-level use.defaults.from (not in any ConfigDef); users expect it to apply,
  // so it does, below every flow's own value (listed among the differences from MM2)
  const useDefaultsFrom = raw.get(USE_DEFAULTS_FROM)
  if (useDefaultsFrom !== undefined) props.set(USE_DEFAULTS_FROM, { value: useDefaultsFrom, origin: USE_DEFAULTS_FROM })
  for (const [key, value] of raw) {
    if (key.startsWith("config.providers") || key.startsWith("replication.policy")) props.set(key, { value, origin: key })
  }
  for (const [alias, side] of [[source, "source"], [target, "target"]] as const) {
    for (const [key, entry] of clusterPropsSourced(raw, alias)) {
      props.set(isClientScoped(key) ? `${side}.${key}` : `${side}.cluster.${key}`, entry)
    }
  }
  if (!props.has("source.cluster.alias")) props.set("source.cluster.alias", derived("source.cluster.alias", source))
  if (!props.has("target.cluster.alias")) props.set("target.cluster.alias", derived("target.cluster.alias", target))
  for (const [key, entry] of withPrefixStripped(raw, `${flowName(source, target)}.`)) props.set(key, entry)
  if (!props.has("enabled")) props.set("enabled", derived("enabled", "false"))
  return props
}

export const connectorConfig = (
  raw: ReadonlyMap<string, string>,
  source: string,
  target: string
): ReadonlyMap<string, string> => values(connectorConfigSourced(raw, source, target))

/**
 * Spec §1.5: the herder's Connect worker config. Worker keys come from the target cluster
 * (`<t>.*`), except the listed top-level prefixes, which win over them. MM2's defaults fill the
 * rest. There is no per-flow worker scope.
 */
export const workerConfigSourced = (
  raw: ReadonlyMap<string, string>,
  source: string,
  target: string
): SourcedMap => {
  const props = clusterPropsSourced(raw, target)
  for (const [key, value] of raw) {
    if (TOP_LEVEL_WORKER_PREFIXES.some((p) => key.startsWith(p))) props.set(key, { value, origin: key })
  }
  for (const [key, value] of raw) if (key.startsWith("config.providers")) props.set(key, { value, origin: key })
  const byteArray = "org.apache.kafka.connect.converters.ByteArrayConverter"
  const defaults: ReadonlyArray<readonly [string, string]> = [
    ["client.id", flowName(source, target)],
    ["group.id", `${source}-mm2`],
    ["offset.storage.topic", `mm2-offsets.${source}.internal`],
    ["status.storage.topic", `mm2-status.${source}.internal`],
    ["config.storage.topic", `mm2-configs.${source}.internal`],
    ["key.converter", byteArray],
    ["value.converter", byteArray],
    ["header.converter", byteArray]
  ]
  for (const [key, value] of defaults) if (!props.has(key)) props.set(key, derived(key, value))
  return props
}

export const workerConfig = (
  raw: ReadonlyMap<string, string>,
  source: string,
  target: string
): ReadonlyMap<string, string> => values(workerConfigSourced(raw, source, target))
