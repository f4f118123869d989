/**
 * Kafka client settings of one flow (spec §1.7, §12.2), as flat maps of Kafka client property
 * names without prefix, e.g. `bootstrap.servers`, `security.protocol`, `acks`.
 */
import { clusterProps } from "./ClusterProps.js"
import { CLIENT_CONFIG_DEF, type ClientKind, MM2_CONNECTOR_KEYS } from "./KnownKeys.js"

export type ClientProps = ReadonlyMap<string, string>

export interface FlowClients {
  readonly sourceConsumer: ClientProps
  readonly sourceProducer: ClientProps
  readonly sourceAdmin: ClientProps
  readonly targetConsumer: ClientProps
  /** Writes replicated records, checkpoints and heartbeats (MM2: the Connect task producer). */
  readonly targetProducer: ClientProps
  readonly targetAdmin: ClientProps
}

const stripped = (map: ReadonlyMap<string, string>, prefix: string): Array<[string, string]> =>
  [...map].flatMap(([k, v]) => (k.startsWith(prefix) ? [[k.slice(prefix.length), v] as [string, string]] : []))

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
export const mirrorClient = (
  connector: ReadonlyMap<string, string>,
  side: "source" | "target",
  kind: ClientKind
): ClientProps => {
  const props = new Map<string, string>()
  for (const key of CLIENT_CONFIG_DEF) {
    const value = connector.get(`${side}.cluster.${key}`)
    if (value !== undefined) props.set(key, value)
  }
  for (const [key, value] of stripped(connector, `${kind}.`)) {
    if (key.startsWith("override.") || connectorSettingKeys.has(`${kind}.${key}`)) continue
    props.set(key, value)
  }
  for (const [key, value] of stripped(connector, `${side}.${kind}.`)) props.set(key, value)
  if (kind === "consumer") {
    // MM2 commits nothing through the consumer group protocol and starts new partitions at the beginning.
    props.set("enable.auto.commit", "false")
    if (!props.has("auto.offset.reset")) props.set("auto.offset.reset", "earliest")
  }
  return props
}

/**
 * The producer for replicated records. In MM2 this is the Connect worker's task producer:
 * worker `bootstrap.servers` < worker `producer.*` (i.e. `<t>.producer.*`, plus the security keys
 * fanned out by `clusterProps`) < connector `producer.override.*` (only settable per flow, as
 * `s->t.producer.override.*`). Connect's own producer defaults (acks=all, ...) are not added here.
 */
export const taskProducer = (
  raw: ReadonlyMap<string, string>,
  target: string,
  connector: ReadonlyMap<string, string>
): ClientProps => {
  const worker = clusterProps(raw, target)
  const props = new Map<string, string>()
  const bootstrap = worker.get("bootstrap.servers")
  if (bootstrap !== undefined) props.set("bootstrap.servers", bootstrap)
  for (const [key, value] of stripped(worker, "producer.")) props.set(key, value)
  for (const [key, value] of stripped(connector, "producer.override.")) props.set(key, value)
  return props
}

export const flowClients = (
  raw: ReadonlyMap<string, string>,
  target: string,
  connector: ReadonlyMap<string, string>
): FlowClients => ({
  sourceConsumer: mirrorClient(connector, "source", "consumer"),
  sourceProducer: mirrorClient(connector, "source", "producer"),
  sourceAdmin: mirrorClient(connector, "source", "admin"),
  targetConsumer: mirrorClient(connector, "target", "consumer"),
  targetProducer: taskProducer(raw, target, connector),
  targetAdmin: mirrorClient(connector, "target", "admin")
})
