/**
 * Typed connector-level settings of one flow with MM2's defaults (spec §3.1–§3.4), decoded from
 * the flow's connector config map (spec §1.6). Field order = key order of `describe`.
 */
import { Schema } from "effect"
import { CANONICAL_CLASS_NAMES, DEFAULT_CLASS_NAME } from "../policy/PolicyFromConfig.js"
import { type IntegerCheck, javaClass, javaEnum, javaInteger, JavaBoolean, JavaString, RegexList } from "./JavaValues.js"

const MIRROR = "org.apache.kafka.connect.mirror"

/** A key with a default; the struct field is camelCase, the input key is the Kafka name. */
const setting = <A>(key: string, schema: Schema.Schema<A, string>, defaultValue: A) =>
  Schema.optionalWith(schema, { default: () => defaultValue }).pipe(Schema.fromKey(key))

/** Only the built-in implementation of a pluggable class; anything else would silently differ. */
const builtinClass = (key: string, fqcn: string) => {
  const simpleName = fqcn.slice(fqcn.lastIndexOf(".") + 1)
  return setting(key, javaClass(new Map([[fqcn, fqcn], [simpleName, fqcn]]), key), fqcn)
}

/** Replication factors: `-1` asks the broker for its default (MM2 casts to short for NewTopic). */
const replicationFactorCheck: IntegerCheck = { check: (n) => n === -1 || n >= 1, expected: "-1 (broker default) or at least 1" }
const atLeast = (min: number): IntegerCheck => ({ check: (n) => n >= min, expected: `a value of at least ${min}` })

const Long = javaInteger("long")
const Seconds = Long // negative = periodic job disabled, as in MM2

export const ConnectorSettings = Schema.Struct({
  topics: setting("topics", RegexList, [".*"]),
  topicsExclude: setting("topics.exclude", RegexList, [".*[\\-\\.]internal", ".*\\.replica", "__.*"]),
  configPropertiesExclude: setting("config.properties.exclude", RegexList, [
    "follower\\.replication\\.throttled\\.replicas",
    "leader\\.replication\\.throttled\\.replicas",
    "message\\.timestamp\\.difference\\.max\\.ms",
    "message\\.timestamp\\.type",
    "unclean\\.leader\\.election\\.enable",
    "min\\.insync\\.replicas"
  ]),
  replicationPolicyClass: setting(
    "replication.policy.class",
    javaClass(CANONICAL_CLASS_NAMES, "replication policy"),
    DEFAULT_CLASS_NAME
  ),
  replicationPolicySeparator: setting(
    "replication.policy.separator",
    JavaString.pipe(Schema.filter((s) => s !== "" || "expected a non-empty separator")),
    "."
  ),
  internalTopicSeparatorEnabled: setting("replication.policy.internal.topic.separator.enabled", JavaBoolean, true),
  replicationFactor: setting("replication.factor", javaInteger("int", replicationFactorCheck), 2),
  refreshTopicsEnabled: setting("refresh.topics.enabled", JavaBoolean, true),
  refreshTopicsIntervalSeconds: setting("refresh.topics.interval.seconds", Seconds, 600),
  consumerPollTimeoutMs: setting("consumer.poll.timeout.ms", javaInteger("long", atLeast(0)), 1000),
  offsetLagMax: setting("offset.lag.max", Long, 100),
  emitOffsetSyncsEnabled: setting("emit.offset-syncs.enabled", JavaBoolean, true),
  offsetSyncsTopicLocation: setting("offset-syncs.topic.location", javaEnum("source", "target"), "source"),
  offsetSyncsTopicReplicationFactor: setting(
    "offset-syncs.topic.replication.factor",
    javaInteger("short", replicationFactorCheck),
    3
  ),
  heartbeatsReplicationEnabled: setting("heartbeats.replication.enabled", JavaBoolean, true),
  syncTopicConfigsEnabled: setting("sync.topic.configs.enabled", JavaBoolean, true),
  syncTopicConfigsIntervalSeconds: setting("sync.topic.configs.interval.seconds", Seconds, 600),
  syncTopicAclsEnabled: setting("sync.topic.acls.enabled", JavaBoolean, true),
  syncTopicAclsIntervalSeconds: setting("sync.topic.acls.interval.seconds", Seconds, 600),
  emitHeartbeatsEnabled: setting("emit.heartbeats.enabled", JavaBoolean, true),
  emitHeartbeatsIntervalSeconds: setting("emit.heartbeats.interval.seconds", Seconds, 1),
  heartbeatsTopicReplicationFactor: setting(
    "heartbeats.topic.replication.factor",
    javaInteger("short", replicationFactorCheck),
    3
  ),
  checkpointsTopicReplicationFactor: setting(
    "checkpoints.topic.replication.factor",
    javaInteger("short", replicationFactorCheck),
    3
  ),
  emitCheckpointsEnabled: setting("emit.checkpoints.enabled", JavaBoolean, true),
  emitCheckpointsIntervalSeconds: setting("emit.checkpoints.interval.seconds", Seconds, 60),
  syncGroupOffsetsEnabled: setting("sync.group.offsets.enabled", JavaBoolean, false),
  syncGroupOffsetsIntervalSeconds: setting("sync.group.offsets.interval.seconds", Seconds, 60),
  refreshGroupsEnabled: setting("refresh.groups.enabled", JavaBoolean, true),
  refreshGroupsIntervalSeconds: setting("refresh.groups.interval.seconds", Seconds, 600),
  groups: setting("groups", RegexList, [".*"]),
  groupsExclude: setting("groups.exclude", RegexList, ["console-consumer-.*", "connect-.*", "__.*"]),
  tasksMax: setting("tasks.max", javaInteger("int", atLeast(1)), 1),
  adminTimeoutMs: setting("admin.timeout.ms", javaInteger("long", atLeast(0)), 60000),
  useDefaultsFrom: setting("use.defaults.from", javaEnum("source", "target"), "target"),
  topicFilterClass: builtinClass("topic.filter.class", `${MIRROR}.DefaultTopicFilter`),
  groupFilterClass: builtinClass("group.filter.class", `${MIRROR}.DefaultGroupFilter`),
  configPropertyFilterClass: builtinClass("config.property.filter.class", `${MIRROR}.DefaultConfigPropertyFilter`),
  forwardingAdminClass: builtinClass("forwarding.admin.class", "org.apache.kafka.clients.admin.ForwardingAdmin"),
  // effect-mm2's own: also write progress into Java MM2's Connect offsets topic (see README, migration)
  connectOffsetsEmitEnabled: setting("effect-mm2.connect.offsets.emit.enabled", JavaBoolean, false),
  // effect-mm2's own: decompressed bytes of fetched records a flow holds (see README, memory)
  replicationBufferBytes: setting("effect-mm2.replication.buffer.bytes", javaInteger("long", atLeast(1_048_576)), 33_554_432)
})
export type ConnectorSettings = typeof ConnectorSettings.Type

/**
 * `offset.flush.interval.ms`, read the MM2 way from the herder's worker config, i.e. as
 * `<target>.offset.flush.interval.ms`. We use it as the longest time between progress (offset)
 * commits. Default 5000 ms, deliberately lower than Connect's 60000 so a restart replays less.
 */
export const OFFSET_FLUSH_INTERVAL_MS_DEFAULT = 5000
export const OffsetFlushIntervalMs = javaInteger("long", atLeast(1))
