/**
 * `mm2.properties` resolved with MM2's semantics into typed, validated settings, and the
 * `Mm2Config` service that carries them.
 *
 * `resolve` reports every problem at once; `load` adds reading the file. Config provider
 * references (`${provider:path:key}`) are resolved first, so everything after sees real values.
 */
import { Context, Effect, Either, Layer, ParseResult, Schema } from "effect"
import { flowClients, flowClientSettings } from "./ClientConfig.js"
import { clusterPropsSourced, values } from "./ClusterProps.js"
import { type ConfigError, type ConfigIssue, formatIssue, InvalidConfig } from "./ConfigError.js"
import * as ConfigProviders from "./ConfigProviders.js"
import { connectorConfigSourced, workerConfig } from "./ConnectorConfig.js"
import { ConnectorSettings, OFFSET_FLUSH_INTERVAL_MS_DEFAULT, OffsetFlushIntervalMs } from "./ConnectorSettings.js"
import { hideSecretValues } from "./Describe.js"
import { flowName, type HerderPair, selectFlows } from "./Flows.js"
import { keyWarnings } from "./KeyWarnings.js"
import type { FlowSettings, HerderSettings, Mm2Settings } from "./Mm2Settings.js"
import * as Properties from "./Properties.js"

export { describe } from "./Describe.js"
export type { ClientProps, FlowSettings, HerderSettings, Mm2Settings } from "./Mm2Settings.js"

export interface ResolveOptions {
  /** Shown in messages; also `Mm2Settings.file`. */
  readonly file: string
  /** The CLI's `--clusters`: keep only herders whose target is listed. Empty or absent = all. */
  readonly clusters?: ReadonlyArray<string> | undefined
  /** Environment for `${env:NAME}` references; `process.env` by default. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
}

/** Issues of one schema decode, one per key (the first, most specific one), named by origin key. */
const decodeIssues = (error: ParseResult.ParseError, originOf: (key: string) => string): Array<ConfigIssue> => {
  const seen = new Set<string>()
  const issues: Array<ConfigIssue> = []
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const key = String(issue.path[0] ?? "")
    if (seen.has(key)) continue
    seen.add(key)
    issues.push({ key: originOf(key), message: issue.message })
  }
  return issues
}

const resolveFlow = (
  raw: ReadonlyMap<string, string>,
  /** the file as read: `raw`/`worker` keep references unresolved, as MM2 stores connector configs */
  asRead: ReadonlyMap<string, string>,
  pair: HerderPair,
  issues: Array<ConfigIssue>,
  /** clusters already reported for a missing bootstrap.servers: their clients are not typed */
  unreachable: ReadonlySet<string>
): FlowSettings | undefined => {
  const { source, target } = pair
  const sourced = connectorConfigSourced(raw, source, target)
  const connector = values(sourced)
  const decoded = Schema.decodeUnknownEither(ConnectorSettings, { errors: "all" })(Object.fromEntries(connector))
  if (Either.isLeft(decoded)) issues.push(...decodeIssues(decoded.left, (key) => sourced.get(key)?.origin ?? key))

  const flush = clusterPropsSourced(raw, target).get("offset.flush.interval.ms")
  const offsetFlushIntervalMs = flush === undefined
    ? Either.right(OFFSET_FLUSH_INTERVAL_MS_DEFAULT)
    : Schema.decodeEither(OffsetFlushIntervalMs)(flush.value)
  if (Either.isLeft(offsetFlushIntervalMs)) {
    issues.push(...decodeIssues(offsetFlushIntervalMs.left, () => flush?.origin ?? "offset.flush.interval.ms"))
  }

  const clients = unreachable.has(source) || unreachable.has(target)
    ? undefined
    : flowClientSettings(raw, source, target, sourced)
  if (clients !== undefined && Either.isLeft(clients)) issues.push(...clients.left)

  if (Either.isLeft(decoded) || Either.isLeft(offsetFlushIntervalMs) || clients === undefined || Either.isLeft(clients)) {
    return undefined
  }
  return {
    source,
    target,
    name: flowName(source, target),
    replicationEnabled: pair.replicationEnabled,
    heartbeatsEnabled: pair.heartbeatsEnabled,
    ...decoded.right,
    offsetFlushIntervalMs: offsetFlushIntervalMs.right,
    ...flowClients(raw, target, sourced),
    clients: clients.right,
    raw: values(connectorConfigSourced(asRead, source, target)),
    worker: workerConfig(asRead, source, target)
  }
}

/**
 * A check's issue as shown: a secret key's value never appears (checks quote what they reject),
 * and a value that came from config providers says which references it came from.
 */
const explain = (issue: ConfigIssue, providers: ConfigProviders.Resolution, asRead: ReadonlyMap<string, string>): ConfigIssue => {
  const message = hideSecretValues(issue.key, issue.message, [providers.values.get(issue.key), asRead.get(issue.key)])
  const references = providers.references.get(issue.key)
  return { key: issue.key, message: references === undefined ? message : `${message} (value from ${references.join(", ")})` }
}

const dedupe = (issues: ReadonlyArray<ConfigIssue>): Array<ConfigIssue> => {
  const seen = new Set<string>()
  return issues.filter((i) => {
    const id = `${i.key}\u0000${i.message}`
    if (seen.has(id)) return false
    seen.add(id)
    return true
  })
}

/**
 * Resolves a parsed file: config provider references, then every check; all issues collected
 * into one `InvalidConfig`. Reads only what the file points to (provider files, PEM files).
 */
export const resolve = (
  asRead: ReadonlyMap<string, string>,
  options: ResolveOptions
): Either.Either<Mm2Settings, InvalidConfig> => {
  const { file } = options
  const providers = ConfigProviders.resolve(asRead, { env: options.env })
  const raw = providers.values
  const selection = selectFlows(raw, options.clusters)
  const issues: Array<ConfigIssue> = [...selection.issues]

  // Every cluster a selected herder touches must be reachable; MM2 would fail later, less clearly.
  const used = selection.clusters.filter((alias) =>
    selection.herderPairs.some((p) => p.source === alias || p.target === alias)
  )
  const unreachable = new Set<string>()
  for (const alias of used) {
    const bootstrap = clusterPropsSourced(raw, alias).get("bootstrap.servers")
    if (bootstrap === undefined || bootstrap.value.trim() === "") {
      unreachable.add(alias)
      const flows = selection.herderPairs
        .filter((p) => p.source === alias || p.target === alias)
        .map((p) => flowName(p.source, p.target))
      issues.push({
        key: `${alias}.bootstrap.servers`,
        message: `missing; cluster ${alias} is used by ${flows.join(", ")}`
      })
    }
  }

  const herders: Array<HerderSettings> = []
  for (const pair of selection.herderPairs) {
    const settings = resolveFlow(raw, asRead, pair, issues, unreachable)
    if (settings !== undefined) herders.push({ ...pair, settings })
  }

  // A key whose reference failed is reported once, by the provider; checks of its value would be noise.
  const checked = issues.filter((i) => !providers.unresolved.has(i.key)).map((i) => explain(i, providers, asRead))
  const all = [...providers.issues, ...checked]
  if (all.length > 0) return Either.left(new InvalidConfig({ file, issues: dedupe(all) }))

  const warnings = dedupe([...providers.warnings, ...selection.warnings, ...keyWarnings(raw, selection.clusters)]).map((w) =>
    formatIssue(file, w)
  )
  return Either.right({
    file,
    clusters: selection.clusters,
    flows: herders.filter((h) => h.replicationEnabled).map((h) => h.settings),
    herderPairs: herders,
    warnings,
    properties: asRead
  })
}

/** Reads and resolves `file`. File errors are `ConfigError`s; content errors one `InvalidConfig`. */
export const load = (
  file: string,
  options?: { readonly clusters?: ReadonlyArray<string> | undefined }
): Effect.Effect<Mm2Settings, InvalidConfig | ConfigError> =>
  Properties.read(file).pipe(
    Effect.flatMap((raw) => resolve(raw, { file, clusters: options?.clusters })),
    Effect.withSpan("config.load", { attributes: { file } })
  )

/** The resolved configuration of this process. */
export class Mm2Config extends Context.Tag("effect-mm2/Mm2Config")<Mm2Config, Mm2Settings>() {
  static layer(settings: Mm2Settings): Layer.Layer<Mm2Config> {
    return Layer.succeed(Mm2Config, settings)
  }

  static layerFromFile(
    file: string,
    options?: { readonly clusters?: ReadonlyArray<string> | undefined }
  ): Layer.Layer<Mm2Config, InvalidConfig | ConfigError> {
    return Layer.effect(Mm2Config, load(file, options))
  }
}
