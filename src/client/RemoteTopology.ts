/**
 * Replication topology of one cluster, read from its topic names alone (spec §10).
 *
 * These are the pure counterparts of Java MM2's `MirrorClient` / `RemoteClusterUtils` queries
 * (`heartbeatTopics`, `checkpointTopics`, `upstreamClusters`, `replicationHops`, `remoteTopics`), so
 * that failover tooling and programs embedding effect-mm2 can inspect how a cluster is fed without
 * a Java client. Nothing here talks to Kafka: callers list the cluster's topics themselves (e.g.
 * with an admin client) and pass the names together with the cluster's `ReplicationPolicy`.
 *
 * Java returns sets; here every list-valued result is deduplicated and sorted (code-unit order) so
 * that results are deterministic, and the input may be any iterable (array, Set, ...).
 */
import type { ReplicationPolicy } from "../policy/ReplicationPolicy.js"

/** Distinct names of `topics` accepted by `keep`, sorted. */
const selectSorted = (topics: Iterable<string>, keep: (topic: string) => boolean): ReadonlyArray<string> => {
  const selected = new Set<string>()
  for (const topic of topics) {
    if (keep(topic)) selected.add(topic)
  }
  return Array.from(selected).sort()
}

/**
 * The cluster aliases a topic passed through, nearest first: `topicSource` of the topic, then of
 * its `upstreamTopic`, and so on. The walk ends when there is no source (a local name is reached)
 * or when an alias comes back, which only policies unable to prevent cycles can produce — so the
 * returned aliases are all distinct. An upstream name of null ends the walk too (Java would fail
 * there; it can only happen with a custom policy reporting a source but no upstream name).
 */
const sourceChain = (policy: ReplicationPolicy, topic: string): ReadonlyArray<string> => {
  const chain: Array<string> = []
  const seen = new Set<string>()
  let current: string | null = topic
  while (current !== null) {
    const source = policy.topicSource(current)
    if (source === null || seen.has(source)) break
    seen.add(source)
    chain.push(source)
    current = policy.upstreamTopic(current)
  }
  return chain
}

/**
 * Heartbeat topics present on the cluster: every topic the policy's `isHeartbeatsTopic` accepts,
 * i.e. whose original name is `heartbeats` — the local `heartbeats` topic as well as the remote
 * copies `A.heartbeats`, `B.A.heartbeats`, ...
 */
export const heartbeatTopics = (policy: ReplicationPolicy, topics: Iterable<string>): ReadonlyArray<string> =>
  selectSorted(topics, (topic) => policy.isHeartbeatsTopic(topic))

/**
 * Checkpoint topics present on the cluster (`<alias>.checkpoints.internal` with the default
 * naming): every topic the policy's `isCheckpointsTopic` accepts.
 */
export const checkpointTopics = (policy: ReplicationPolicy, topics: Iterable<string>): ReadonlyArray<string> =>
  selectSorted(topics, (topic) => policy.isCheckpointsTopic(topic))

/**
 * Every cluster alias that replicates into this cluster, directly or through other clusters, as
 * witnessed by the heartbeat topics: `B.A.heartbeats` contributes both `B` and `A`. A chain stops
 * at its first repeated alias, so with `A.B.A.C.heartbeats` only `A` and `B` are found (as in Java).
 */
export const upstreamClusters = (policy: ReplicationPolicy, topics: Iterable<string>): ReadonlyArray<string> => {
  const aliases = new Set<string>()
  for (const topic of heartbeatTopics(policy, topics)) {
    for (const alias of sourceChain(policy, topic)) aliases.add(alias)
  }
  return Array.from(aliases).sort()
}

/**
 * Number of replication hops between cluster `upstreamAlias` and this cluster, judged by the
 * heartbeat topics: 1 when some heartbeat topic was replicated directly from `upstreamAlias`
 * (`B.heartbeats` ⇒ hops(B) = 1), 2 when it came through one intermediate cluster
 * (`B.A.heartbeats` ⇒ hops(A) = 2), and so on; the shortest route wins. −1 when no heartbeat
 * topic leads back to `upstreamAlias` (a chain that reaches a local name, or repeats an alias
 * before meeting `upstreamAlias`, does not count).
 */
export const replicationHops = (
  policy: ReplicationPolicy,
  topics: Iterable<string>,
  upstreamAlias: string
): number => {
  let best = -1
  for (const topic of heartbeatTopics(policy, topics)) {
    const position = sourceChain(policy, topic).indexOf(upstreamAlias)
    if (position >= 0 && (best < 0 || position + 1 < best)) best = position + 1
  }
  return best
}

/**
 * Remote topics on the cluster: topics the policy does not call internal and for which it names a
 * source cluster. With `source`, only the topics replicated directly (one hop) from that alias,
 * i.e. whose `topicSource` is `source`.
 *
 * Our policies' `isInternalTopic` only covers `__x`, `.x`, `x-internal`, `x.internal` and the
 * policy's MM2-internal suffix (`<sep>internal`), so remote heartbeat topics such as
 * `A.heartbeats` are NOT internal and ARE listed here (as in Java, despite what its comment says),
 * while checkpoint and offset-sync topics are internal and never listed. Which topics have a source
 * depends on the policy: with DefaultReplicationPolicy any name containing the separator
 * (`my.local.topic` ⇒ `my`); with IdentityReplicationPolicy only prefixed heartbeat topics, unless
 * it was given `sourceClusterAlias`, in which case every other non-internal topic is attributed to
 * that alias.
 */
export const remoteTopics = (
  policy: ReplicationPolicy,
  topics: Iterable<string>,
  source?: string
): ReadonlyArray<string> =>
  selectSorted(topics, (topic) => {
    if (policy.isInternalTopic(topic)) return false
    const topicSource = policy.topicSource(topic)
    return topicSource !== null && (source === undefined || topicSource === source)
  })
