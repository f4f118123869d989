/**
 * Which source topic configs a remote topic gets (MM2's DefaultConfigPropertyFilter and
 * `targetConfig`, spec 7.5 and 7.7), as pure functions of what the clusters describe.
 *
 * A config is copied only if it is writable, not sensitive, not a static broker setting of the
 * source (that describes the source's machines, not the topic), and not matched by
 * `config.properties.exclude`. A source value that is the source's built-in default either
 * removes the remote topic's override (the target's default applies, `use.defaults.from =
 * target`, MM2's default) or is written as an override (`use.defaults.from = source`).
 */
import type { ConfigOperation, TopicConfigEntry } from "../kafka/KafkaClient.js"

export interface ConfigPropertyFilter {
  /** `config.properties.exclude`, compiled (full match, Java semantics) */
  readonly isExcluded: (name: string) => boolean
  readonly useDefaultsFrom: "source" | "target"
}

const copyable = (e: TopicConfigEntry, filter: ConfigPropertyFilter): boolean =>
  !e.readOnly && !e.sensitive && e.source !== "static-broker" && e.value !== null && !filter.isExcluded(e.name)

/** The configs a remote topic is created with: the source's non-default values (and defaults with `use.defaults.from = source`). */
export const creationConfigs = (
  source: ReadonlyArray<TopicConfigEntry>,
  filter: ConfigPropertyFilter
): ReadonlyArray<{ readonly name: string; readonly value: string }> =>
  source
    .filter((e) => copyable(e, filter) && (e.source !== "default" || filter.useDefaultsFrom === "source"))
    .map((e) => ({ name: e.name, value: e.value ?? "" }))

/**
 * The incremental changes that make the remote topic agree with its source, given what the
 * target describes now. MM2 sends every operation at every interval; only the ones that change
 * something are returned here, so a quiet interval writes nothing and every change is loggable.
 * The end state is MM2's: a synced config is an override on the remote topic with the source's
 * value, or no override at all.
 */
export const syncOperations = (
  source: ReadonlyArray<TopicConfigEntry>,
  target: ReadonlyArray<TopicConfigEntry>,
  filter: ConfigPropertyFilter
): ReadonlyArray<ConfigOperation> => {
  const current = new Map(target.map((e) => [e.name, e]))
  const operations: Array<ConfigOperation> = []
  for (const e of source) {
    if (!copyable(e, filter)) continue
    const there = current.get(e.name)
    const overridden = there?.source === "topic"
    if (e.source === "default" && filter.useDefaultsFrom === "target") {
      if (overridden) operations.push({ op: "delete", name: e.name })
    } else if (!overridden || there?.value !== e.value) {
      operations.push({ op: "set", name: e.name, value: e.value ?? "" })
    }
  }
  return operations
}

/** `name=value` / `-name` for logs (copied configs are never sensitive). */
export const describeOperations = (operations: ReadonlyArray<ConfigOperation>): string =>
  operations.map((o) => (o.op === "set" ? `${o.name}=${o.value}` : `${o.name} (reset to the target's default)`)).join(", ")
