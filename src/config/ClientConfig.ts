/**
 * Kafka client settings of one flow (spec §1.7, §12.2): first as flat maps of Kafka client
 * property names without prefix (`bootstrap.servers`, `security.protocol`, `acks`, ...) that
 * remember the line each value came from, then as typed settings. Every client a flow opens is
 * resolved here, at validation time, so a flow never parses raw client keys and a bad value is
 * reported with the key the user wrote, before anything connects.
 */
import { Either } from "effect"
import {
  type ClientProps,
  type ConnectionSettings,
  connectionSettings,
  type ConsumerSettings,
  consumerSettings,
  type InvalidClientSettings,
  type ProducerSettings,
  producerSettings
} from "../kafka/ClientSettings.js"
import type { ConfigIssue } from "./ConfigError.js"
import { clusterPropsSourced, type Sourced, type SourcedMap, values } from "./ClusterProps.js"
import { flowName } from "./Flows.js"
import { CLIENT_CONFIG_DEF, type ClientKind, MM2_CONNECTOR_KEYS } from "./KnownKeys.js"

export type { ClientProps }

/** The raw client maps of a flow, as MM2 derives them (shown by `--validate`). */
export interface FlowClients {
  readonly sourceConsumer: ClientProps
  readonly sourceProducer: ClientProps
  readonly sourceAdmin: ClientProps
  readonly targetConsumer: ClientProps
  /** Writes replicated records, checkpoints and heartbeats (MM2: the Connect task producer). */
  readonly targetProducer: ClientProps
  readonly targetAdmin: ClientProps
}

/** The same clients, typed and checked. */
export interface FlowClientSettings {
  readonly sourceConsumer: ConnectionSettings
  readonly sourceConsumerSettings: ConsumerSettings
  readonly sourceProducer: ConnectionSettings
  readonly sourceProducerSettings: ProducerSettings
  readonly sourceAdmin: ConnectionSettings
  readonly targetConsumer: ConnectionSettings
  readonly targetConsumerSettings: ConsumerSettings
  readonly targetProducer: ConnectionSettings
  readonly targetProducerSettings: ProducerSettings
  readonly targetAdmin: ConnectionSettings
}

const stripped = (map: SourcedMap, prefix: string): Array<[string, Sourced]> =>
  [...map].flatMap(([k, v]) => (k.startsWith(prefix) ? [[k.slice(prefix.length), v] as [string, Sourced]] : []))

const derived = (key: string, value: string): Sourced => ({ value, origin: key })

const connectorSettingKeys: ReadonlySet<string> = new Set(MM2_CONNECTOR_KEYS)

/**
 * MM2's three layers: bootstrap/security keys of `<side>.cluster.*` < connector `<kind>.*` <
 * `<side>.<kind>.*`. In dedicated mode layer 2 only comes from flow keys (`s->t.consumer.x`), so
 * `<s>.consumer.x` (which lands in layer 3) beats it; `s->t.source.consumer.x` beats both.
 *
 * Two things MM2 passes that we drop, because the client would only log them as unknown:
 * connector settings that merely look client-scoped (`consumer.poll.timeout.ms`,
 * `admin.timeout.ms`), and Connect's `<kind>.override.*` keys.
 */
export const mirrorClientSourced = (
  connector: SourcedMap,
  side: "source" | "target",
  kind: ClientKind
): Map<string, Sourced> => {
  const props = new Map<string, Sourced>()
  for (const key of CLIENT_CONFIG_DEF) {
    const entry = connector.get(`${side}.cluster.${key}`)
    if (entry !== undefined) props.set(key, entry)
  }
  for (const [key, entry] of stripped(connector, `${kind}.`)) {
    if (key.startsWith("override.") || connectorSettingKeys.has(`${kind}.${key}`)) continue
    props.set(key, entry)
  }
  for (const [key, entry] of stripped(connector, `${side}.${kind}.`)) props.set(key, entry)
  if (kind === "consumer") {
    // MM2 commits nothing through the consumer group protocol and starts new partitions at the beginning.
    props.set("enable.auto.commit", derived("enable.auto.commit", "false"))
    if (!props.has("auto.offset.reset")) props.set("auto.offset.reset", derived("auto.offset.reset", "earliest"))
  }
  return props
}

/**
 * The producer for replicated records. In MM2 this is the Connect worker's task producer:
 * worker `bootstrap.servers` < worker `producer.*` (i.e. `<t>.producer.*`, plus the security keys
 * fanned out by `clusterProps`) < connector `producer.override.*` (only settable per flow, as
 * `s->t.producer.override.*`). Connect's own producer defaults (acks=all, ...) are not added here.
 */
export const taskProducerSourced = (
  raw: ReadonlyMap<string, string>,
  target: string,
  connector: SourcedMap
): Map<string, Sourced> => {
  const worker = clusterPropsSourced(raw, target)
  const props = new Map<string, Sourced>()
  const bootstrap = worker.get("bootstrap.servers")
  if (bootstrap !== undefined) props.set("bootstrap.servers", bootstrap)
  for (const [key, entry] of stripped(worker, "producer.")) props.set(key, entry)
  for (const [key, entry] of stripped(connector, "producer.override.")) props.set(key, entry)
  return props
}

type SourcedClients = { readonly [K in keyof FlowClients]: SourcedMap }

const sourcedClients = (raw: ReadonlyMap<string, string>, target: string, connector: SourcedMap): SourcedClients => ({
  sourceConsumer: mirrorClientSourced(connector, "source", "consumer"),
  sourceProducer: mirrorClientSourced(connector, "source", "producer"),
  sourceAdmin: mirrorClientSourced(connector, "source", "admin"),
  targetConsumer: mirrorClientSourced(connector, "target", "consumer"),
  targetProducer: taskProducerSourced(raw, target, connector),
  targetAdmin: mirrorClientSourced(connector, "target", "admin")
})

export const flowClients = (raw: ReadonlyMap<string, string>, target: string, connector: SourcedMap): FlowClients => {
  const c = sourcedClients(raw, target, connector)
  return {
    sourceConsumer: values(c.sourceConsumer),
    sourceProducer: values(c.sourceProducer),
    sourceAdmin: values(c.sourceAdmin),
    targetConsumer: values(c.targetConsumer),
    targetProducer: values(c.targetProducer),
    targetAdmin: values(c.targetAdmin)
  }
}

/**
 * Types every client of flow `source->target`. Problems are returned as issues named by the key
 * the user wrote; the same line shared by several clients gives identical issues (deduplicated
 * by the caller).
 */
export const flowClientSettings = (
  raw: ReadonlyMap<string, string>,
  source: string,
  target: string,
  connector: SourcedMap
): Either.Either<FlowClientSettings, ReadonlyArray<ConfigIssue>> => {
  const c = sourcedClients(raw, target, connector)
  const issues: Array<ConfigIssue> = []
  const check = <A>(alias: string, props: SourcedMap, parse: (alias: string, p: ClientProps) => Either.Either<A, InvalidClientSettings>) =>
    Either.getOrElse(
      Either.mapLeft(parse(alias, values(props)), (e) => {
        for (const i of e.issues) issues.push({ key: props.get(i.key)?.origin ?? `${alias}.${i.key}`, message: i.message })
      }),
      () => undefined
    )
  const clientId = (role: string) => `${flowName(source, target)}|${role}`
  const conn = (alias: string, props: SourcedMap, role: string) =>
    check(alias, props, (a, p) => connectionSettings(a, p, clientId(role)))
  const settings = {
    sourceConsumer: conn(source, c.sourceConsumer, "MirrorSourceConnector|replication-consumer"),
    sourceConsumerSettings: check(source, c.sourceConsumer, consumerSettings),
    sourceProducer: conn(source, c.sourceProducer, "MirrorSourceConnector|offset-syncs-producer"),
    sourceProducerSettings: check(source, c.sourceProducer, producerSettings),
    sourceAdmin: conn(source, c.sourceAdmin, "MirrorSourceConnector|replication-source-admin"),
    targetConsumer: conn(target, c.targetConsumer, "MirrorCheckpointConnector|checkpoint-target-consumer"),
    targetConsumerSettings: check(target, c.targetConsumer, consumerSettings),
    targetProducer: conn(target, c.targetProducer, "MirrorSourceConnector|replication-producer"),
    targetProducerSettings: check(target, c.targetProducer, producerSettings),
    targetAdmin: conn(target, c.targetAdmin, "MirrorSourceConnector|replication-target-admin")
  }
  if (issues.length > 0) return Either.left(issues)
  // no issue means every field was filled
  return Either.right(settings as { readonly [K in keyof typeof settings]: NonNullable<(typeof settings)[K]> })
}
