/**
 * IdentityReplicationPolicy (spec §4.3): topics keep their names on the target; only heartbeat
 * topics are still prefixed, which is what lets heartbeats (and only heartbeats) avoid cycles.
 */
import * as DefaultReplicationPolicy from "./DefaultReplicationPolicy.js"
import type { ReplicationPolicy, ReplicationPolicyOptions } from "./ReplicationPolicy.js"
import * as Defaults from "./ReplicationPolicyDefaults.js"

export const CLASS_NAME = "org.apache.kafka.connect.mirror.IdentityReplicationPolicy"

export const make = (options: ReplicationPolicyOptions = {}): ReplicationPolicy => {
  const base = DefaultReplicationPolicy.make(options)
  // Without a configured alias (e.g. MirrorClient) a plain topic has no known source.
  const sourceClusterAlias = options.sourceClusterAlias ?? null
  // Plain suffix test, as upstream: `myheartbeats` also counts.
  const looksLikeHeartbeat = (topic: string): boolean => topic.endsWith(base.heartbeatsTopic())

  const upstreamTopic = (topic: string): string | null =>
    looksLikeHeartbeat(topic) ? base.upstreamTopic(topic) : topic
  // Interface default over our own upstreamTopic: stops at once for plain topics (upstream == topic).
  const originalTopic = (topic: string): string => Defaults.originalTopic(upstreamTopic, topic)

  return {
    ...base,
    className: CLASS_NAME,
    formatRemoteTopic: (sourceAlias, topic) =>
      looksLikeHeartbeat(topic) ? base.formatRemoteTopic(sourceAlias, topic) : topic,
    topicSource: (topic) => (looksLikeHeartbeat(topic) ? base.topicSource(topic) : sourceClusterAlias),
    upstreamTopic,
    originalTopic,
    isHeartbeatsTopic: (topic) => Defaults.isHeartbeatsTopic(base.heartbeatsTopic, originalTopic, topic)
  }
}
