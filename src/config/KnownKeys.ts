/**
 * Key names MM2 understands, grouped by the scope where they have an effect.
 *
 * These sets drive three things: which top-level keys reach connector configs (spec §1.6 step 1),
 * which cluster keys fan out to every client (spec §1.4), and the typo/misplacement warnings.
 * Facts (key names) come from spec §1–§3; nothing here is read at runtime from Kafka.
 */

const ssl = [
  "ssl.protocol",
  "ssl.provider",
  "ssl.cipher.suites",
  "ssl.enabled.protocols",
  "ssl.keystore.type",
  "ssl.keystore.location",
  "ssl.keystore.password",
  "ssl.key.password",
  "ssl.keystore.key",
  "ssl.keystore.certificate.chain",
  "ssl.truststore.certificates",
  "ssl.truststore.type",
  "ssl.truststore.location",
  "ssl.truststore.password",
  "ssl.keymanager.algorithm",
  "ssl.trustmanager.algorithm",
  "ssl.endpoint.identification.algorithm",
  "ssl.secure.random.implementation",
  "ssl.engine.factory.class"
] as const

const sasl = [
  "sasl.mechanism",
  "sasl.jaas.config",
  "sasl.kerberos.service.name",
  "sasl.kerberos.kinit.cmd",
  "sasl.kerberos.ticket.renew.window.factor",
  "sasl.kerberos.ticket.renew.jitter",
  "sasl.kerberos.min.time.before.relogin",
  "sasl.login.refresh.window.factor",
  "sasl.login.refresh.window.jitter",
  "sasl.login.refresh.min.period.seconds",
  "sasl.login.refresh.buffer.seconds",
  "sasl.client.callback.handler.class",
  "sasl.login.callback.handler.class",
  "sasl.login.class",
  "sasl.login.connect.timeout.ms",
  "sasl.login.read.timeout.ms",
  "sasl.login.retry.backoff.max.ms",
  "sasl.login.retry.backoff.ms",
  "sasl.oauthbearer.scope.claim.name",
  "sasl.oauthbearer.sub.claim.name",
  "sasl.oauthbearer.token.endpoint.url",
  "sasl.oauthbearer.jwks.endpoint.url",
  "sasl.oauthbearer.jwks.endpoint.refresh.ms",
  "sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms",
  "sasl.oauthbearer.jwks.endpoint.retry.backoff.ms",
  "sasl.oauthbearer.clock.skew.seconds",
  "sasl.oauthbearer.expected.audience",
  "sasl.oauthbearer.expected.issuer",
  "sasl.oauthbearer.header.urlencode"
] as const

/**
 * `CLIENT_CONFIG_DEF` (spec §1.4): bootstrap + security keys that a cluster-scoped value fans
 * out to every client of that cluster, and that act as the lowest default at the top level.
 */
export const CLIENT_CONFIG_DEF: ReadonlyArray<string> = ["bootstrap.servers", "security.protocol", ...ssl, ...sasl]
export const CLIENT_CONFIG_KEYS: ReadonlySet<string> = new Set(CLIENT_CONFIG_DEF)

/** The three client kinds MM2 distinguishes by key prefix. */
export const CLIENT_KINDS = ["producer", "consumer", "admin"] as const
export type ClientKind = (typeof CLIENT_KINDS)[number]

/** MM2-specific connector keys (spec §3.1–§3.4). */
export const MM2_CONNECTOR_KEYS: ReadonlyArray<string> = [
  "enabled",
  "source.cluster.alias",
  "target.cluster.alias",
  "admin.timeout.ms",
  "replication.policy.class",
  "replication.policy.separator",
  "replication.policy.internal.topic.separator.enabled",
  "forwarding.admin.class",
  // source connector
  "topics",
  "topics.exclude",
  "topic.filter.class",
  "config.properties.exclude",
  "config.property.filter.class",
  "consumer.poll.timeout.ms",
  "refresh.topics.enabled",
  "refresh.topics.interval.seconds",
  "sync.topic.configs.enabled",
  "sync.topic.configs.interval.seconds",
  "sync.topic.acls.enabled",
  "sync.topic.acls.interval.seconds",
  "replication.factor",
  "offset-syncs.topic.replication.factor",
  "offset-syncs.topic.location",
  "offset.lag.max",
  "emit.offset-syncs.enabled",
  "heartbeats.replication.enabled",
  // checkpoint connector
  "groups",
  "groups.exclude",
  "group.filter.class",
  "refresh.groups.enabled",
  "refresh.groups.interval.seconds",
  "emit.checkpoints.enabled",
  "emit.checkpoints.interval.seconds",
  "sync.group.offsets.enabled",
  "sync.group.offsets.interval.seconds",
  "checkpoints.topic.replication.factor",
  // heartbeat connector
  "emit.heartbeats.enabled",
  "emit.heartbeats.interval.seconds",
  "heartbeats.topic.replication.factor"
]

/** Keys of Connect's base `ConnectorConfig` that every MM2 connector also defines (spec §3.1). */
export const CONNECT_CONNECTOR_KEYS: ReadonlyArray<string> = [
  "name",
  "connector.class",
  "tasks.max",
  "tasks.max.enforce",
  "key.converter",
  "value.converter",
  "header.converter",
  "transforms",
  "predicates",
  "config.action.reload",
  "errors.retry.timeout",
  "errors.retry.delay.max.ms",
  "errors.tolerance",
  "errors.log.enable",
  "errors.log.include.messages",
  "metric.reporters"
]

/**
 * effect-mm2's own flow keys (Java MM2 ignores them): global or per flow, like connector keys.
 * `effect-mm2.connect.offsets.emit.enabled`: also write our positions into Java MM2's Connect
 * offsets topic (see src/flow/ConnectOffsets.ts). `effect-mm2.replication.buffer.bytes`: the
 * memory budget of fetched records per flow (see src/flow/ByteBudget.ts).
 */
export const OWN_CONNECTOR_KEYS: ReadonlyArray<string> = ["effect-mm2.connect.offsets.emit.enabled", "effect-mm2.replication.buffer.bytes"]

/**
 * Union of the three connector ConfigDefs: the only top-level keys copied into connector
 * configs (spec §1.6 step 1). Includes the client security keys, which the base def defines,
 * and effect-mm2's own flow keys.
 */
export const CONNECTOR_KEYS: ReadonlySet<string> = new Set([
  ...MM2_CONNECTOR_KEYS,
  ...OWN_CONNECTOR_KEYS,
  ...CONNECT_CONNECTOR_KEYS,
  "security.protocol",
  ...ssl,
  ...sasl
])

/** Connector-level keys that are not in any ConfigDef and so are only read per flow (spec §3.2, §3.6). */
export const FLOW_ONLY_KEYS: ReadonlySet<string> = new Set([
  "use.defaults.from",
  "exactly.once.support",
  "transaction.boundary",
  "transaction.boundary.interval.ms",
  "offsets.storage.topic"
])

/**
 * Top-level `config.providers` (a list of provider names) and, for each name, the declarations
 * `config.providers.<name>.class` and `config.providers.<name>.param.*` (spec §1.9).
 */
export const CONFIG_PROVIDERS_KEY = "config.providers"

/** `config.providers` or one of its declarations. */
export const isConfigProvidersKey = (key: string): boolean =>
  key === CONFIG_PROVIDERS_KEY || key.startsWith(`${CONFIG_PROVIDERS_KEY}.`)

/** Top-level keys of `MirrorMakerConfig` itself (spec §1.2). */
export const TOP_LEVEL_KEYS: ReadonlySet<string> = new Set([
  "clusters",
  CONFIG_PROVIDERS_KEY,
  "dedicated.mode.enable.internal.rest",
  "listeners",
  "rest.advertised.host.name",
  "rest.advertised.port",
  "rest.advertised.listener",
  "access.control.allow.origin",
  "access.control.allow.methods",
  "response.http.headers.config",
  "ssl.client.auth",
  ...CLIENT_CONFIG_DEF
])

/**
 * Textual prefixes of top-level keys that `workerConfig` copies into every herder (spec §1.5).
 * Plain `startsWith`, so `tasks.max` matches `task`.
 */
export const TOP_LEVEL_WORKER_PREFIXES: ReadonlyArray<string> = [
  "offset.storage",
  "config.storage",
  "status.storage",
  "key.converter",
  "value.converter",
  "header.converter",
  "task",
  "worker",
  "replication.policy"
]

/**
 * Common Connect worker keys (DistributedConfig/WorkerConfig). Not exhaustive: the list only
 * serves the warnings (known at cluster scope; ignored at top level), never validation.
 */
export const WORKER_KEYS: ReadonlySet<string> = new Set([
  "bootstrap.servers",
  "client.id",
  "client.dns.lookup",
  "group.id",
  "session.timeout.ms",
  "heartbeat.interval.ms",
  "rebalance.timeout.ms",
  "worker.sync.timeout.ms",
  "worker.unsync.backoff.ms",
  "offset.storage.topic",
  "offset.storage.partitions",
  "offset.storage.replication.factor",
  "config.storage.topic",
  "config.storage.replication.factor",
  "status.storage.topic",
  "status.storage.partitions",
  "status.storage.replication.factor",
  "connect.protocol",
  "scheduled.rebalance.max.delay.ms",
  "inter.worker.key.generation.algorithm",
  "inter.worker.key.size",
  "inter.worker.key.ttl.ms",
  "inter.worker.signature.algorithm",
  "inter.worker.verification.algorithms",
  "exactly.once.source.support",
  "key.converter",
  "value.converter",
  "header.converter",
  "task.shutdown.graceful.timeout.ms",
  "offset.flush.interval.ms",
  "offset.flush.timeout.ms",
  "plugin.path",
  "plugin.discovery",
  "connector.client.config.override.policy",
  "metrics.sample.window.ms",
  "metrics.num.samples",
  "metrics.recording.level",
  "metric.reporters",
  "auto.include.jmx.reporter",
  "topic.creation.enable",
  "topic.tracking.enable",
  "topic.tracking.allow.reset",
  "metadata.max.age.ms",
  "send.buffer.bytes",
  "receive.buffer.bytes",
  "reconnect.backoff.ms",
  "reconnect.backoff.max.ms",
  "retry.backoff.ms",
  "retry.backoff.max.ms",
  "request.timeout.ms",
  "connections.max.idle.ms",
  "socket.connection.setup.timeout.ms",
  "socket.connection.setup.timeout.max.ms"
])

/** Keys removed from MM2 in 4.0 (spec §3.7), with what replaces them where something does. */
export const REMOVED_KEYS: ReadonlyMap<string, string | undefined> = new Map([
  ["topics.blacklist", "topics.exclude"],
  ["groups.blacklist", "groups.exclude"],
  ["config.properties.blacklist", "config.properties.exclude"],
  ["use.incremental.alter.configs", undefined],
  ["add.source.alias.to.metrics", undefined]
])
