/**
 * Cluster-scoped properties, `clusterProps(alias)` of spec §1.4.
 *
 * Values carry the raw key they came from (`origin`) so that a validation error further down
 * the derivation can name the line the user has to fix.
 */
import { CLIENT_CONFIG_DEF, CLIENT_KINDS } from "./KnownKeys.js"

/** A derived value and the raw key it was read from. */
export interface Sourced {
  readonly value: string
  readonly origin: string
}

export type SourcedMap = ReadonlyMap<string, Sourced>

export const values = (map: SourcedMap): ReadonlyMap<string, string> =>
  new Map([...map].map(([k, e]) => [k, e.value]))

/** Raw entries whose key starts with `prefix`, with the prefix removed. */
export const withPrefixStripped = (raw: ReadonlyMap<string, string>, prefix: string): Map<string, Sourced> => {
  const out = new Map<string, Sourced>()
  for (const [key, value] of raw) {
    if (key.startsWith(prefix)) out.set(key.slice(prefix.length), { value, origin: key })
  }
  return out
}

const setIfAbsent = (map: Map<string, Sourced>, key: string, entry: Sourced): void => {
  if (!map.has(key)) map.set(key, entry)
}

/**
 * Spec §1.4: `<alias>.*` stripped; then each bootstrap/security key fans out to
 * `producer.`/`consumer.`/`admin.` unless set there; then top-level security keys fill the
 * remaining gaps (including the bare key). Later steps never override earlier ones, giving
 * `<alias>.<client>.k` > `<alias>.k` > top-level `k`.
 */
export const clusterPropsSourced = (raw: ReadonlyMap<string, string>, alias: string): Map<string, Sourced> => {
  const props = withPrefixStripped(raw, `${alias}.`)
  for (const key of CLIENT_CONFIG_DEF) {
    const entry = props.get(key)
    if (entry !== undefined) for (const kind of CLIENT_KINDS) setIfAbsent(props, `${kind}.${key}`, entry)
  }
  for (const key of CLIENT_CONFIG_DEF) {
    const value = raw.get(key)
    if (value === undefined) continue
    const entry = { value, origin: key }
    for (const kind of CLIENT_KINDS) setIfAbsent(props, `${kind}.${key}`, entry)
    setIfAbsent(props, key, entry)
  }
  return props
}

/** `clusterProps(alias)` as plain strings. */
export const clusterProps = (raw: ReadonlyMap<string, string>, alias: string): ReadonlyMap<string, string> =>
  values(clusterPropsSourced(raw, alias))
