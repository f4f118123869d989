/**
 * Which topics a source->target flow replicates (spec §7.2), loop prevention (§7.3) and which
 * target topics are this flow's remote topics (§7.4). Pure functions of a policy and a filter.
 */
import type { ReplicationPolicy } from "./ReplicationPolicy.js"
import type { NameFilter } from "./TopicFilter.js"

/**
 * True when following `topic`'s remote chain reaches `targetAlias`, i.e. replicating it to the
 * target would send data back where it came from. Stops (false) when the chain ends or, for
 * identity-style policies, when the upstream name is the name itself.
 */
export const isCycle = (policy: ReplicationPolicy, targetAlias: string, topic: string): boolean => {
  const seen = new Set<string>()
  let current = topic
  for (;;) {
    const source = policy.topicSource(current)
    if (source === null) return false
    if (source === targetAlias) return true
    const upstream = policy.upstreamTopic(current)
    // `seen` only guards against custom policies whose chains loop; built-ins always shorten or stop
    if (upstream === null || upstream === current || seen.has(upstream)) return false
    seen.add(current)
    current = upstream
  }
}

export interface TopicSelection {
  readonly policy: ReplicationPolicy
  readonly filter: NameFilter
  readonly targetAlias: string
  /** `heartbeats.replication.enabled`: heartbeat topics bypass the filter (not the other checks). */
  readonly heartbeatsReplicationEnabled: boolean
}

export const shouldReplicateTopic = (selection: TopicSelection, topic: string): boolean => {
  const { filter, heartbeatsReplicationEnabled, policy, targetAlias } = selection
  return (
    (filter.shouldReplicate(topic) || (heartbeatsReplicationEnabled && policy.isHeartbeatsTopic(topic))) &&
    !policy.isInternalTopic(topic) &&
    !isCycle(policy, targetAlias, topic)
  )
}

export interface RemoteTopicScope {
  readonly policy: ReplicationPolicy
  readonly sourceAlias: string
}

/**
 * Target topics that are remote topics of `sourceAlias` (excluding the flow's own checkpoints
 * topic), keyed by remote name, valued by their upstream (source-side) name. Insertion order
 * follows `targetTopics`. A custom policy answering null for upstream is skipped.
 */
export const remoteTopicsOf = (
  scope: RemoteTopicScope,
  targetTopics: Iterable<string>
): ReadonlyMap<string, string> => {
  const { policy, sourceAlias } = scope
  const checkpoints = policy.checkpointsTopic(sourceAlias)
  const result = new Map<string, string>()
  for (const topic of targetTopics) {
    if (topic === checkpoints || policy.topicSource(topic) !== sourceAlias) continue
    const upstream = policy.upstreamTopic(topic)
    if (upstream !== null) result.set(topic, upstream)
  }
  return result
}
