/**
 * The default method bodies of the ReplicationPolicy interface (spec §4.1). They are written as
 * functions of the overridable primitives so that a policy overriding e.g. `upstreamTopic` (Identity)
 * gets `originalTopic` / `isHeartbeatsTopic` built on its own override, as Java's dispatch would.
 */

export const HEARTBEATS_TOPIC = "heartbeats"

/**
 * Follows `upstreamTopic` until it returns null or the same name (identity-style policies would
 * otherwise loop forever). The seen-set guards against custom policies that cycle over several names.
 */
export const originalTopic = (upstreamTopic: (topic: string) => string | null, topic: string): string => {
  const seen = new Set<string>()
  let current = topic
  for (;;) {
    seen.add(current)
    const upstream = upstreamTopic(current)
    if (upstream === null || upstream === current || seen.has(upstream)) return current
    current = upstream
  }
}

export const isHeartbeatsTopic = (
  heartbeatsTopic: () => string,
  originalTopicOf: (topic: string) => string,
  topic: string
): boolean => heartbeatsTopic() === originalTopicOf(topic)

/** Interface default; DefaultReplicationPolicy overrides it with the configured separator. */
export const offsetSyncsTopic = (clusterAlias: string): string => `mm2-offset-syncs.${clusterAlias}.internal`

/** Interface default; DefaultReplicationPolicy overrides it with the configured separator. */
export const checkpointsTopic = (clusterAlias: string): string => `${clusterAlias}.checkpoints.internal`

/**
 * Kafka-internal (`__x`, `.x`), Connect's conventional names (`x-internal`, `x.internal`, always
 * with `.` regardless of the separator) and whatever the policy itself calls MM2-internal.
 */
export const isInternalTopic = (isMM2InternalTopic: (topic: string) => boolean, topic: string): boolean =>
  isMM2InternalTopic(topic) ||
  topic.startsWith("__") ||
  topic.startsWith(".") ||
  topic.endsWith("-internal") ||
  topic.endsWith(".internal")
