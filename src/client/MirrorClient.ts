/**
 * MM2's MirrorClient / RemoteClusterUtils for one cluster, over our KafkaClient: the cluster's
 * replication topology read from its topic names (RemoteTopology.ts) and the checkpoints of a
 * consumer group there, i.e. where it resumes after failing over to this cluster (what Java's
 * `RemoteClusterUtils.translateOffsets` returns). For failover tooling and embedding programs.
 */
import { Effect, Either, Option, type Scope } from "effect"
import type { ConnectionSettings } from "../kafka/ClientSettings.js"
import { type CommittedOffset, KafkaClient } from "../kafka/KafkaClient.js"
import type { KafkaError } from "../kafka/KafkaError.js"
import { topicPartitionKey } from "../kafka/KafkaRecord.js"
import { followTopic } from "../kafka/TopicFollower.js"
import type { ReplicationPolicy } from "../policy/ReplicationPolicy.js"
import * as Checkpoint from "../wire/Checkpoint.js"
import * as RemoteTopology from "./RemoteTopology.js"

export interface MirrorClient {
  /** `heartbeats` and its replicas (`<alias>.heartbeats`, ...) on this cluster */
  readonly heartbeatTopics: Effect.Effect<ReadonlyArray<string>, KafkaError>
  /** `<alias>.checkpoints.internal` topics on this cluster */
  readonly checkpointTopics: Effect.Effect<ReadonlyArray<string>, KafkaError>
  /** every cluster that replicates to this one, directly or through others */
  readonly upstreamClusters: Effect.Effect<ReadonlyArray<string>, KafkaError>
  /** the fewest replication hops from `upstreamAlias` to this cluster; -1 when none */
  readonly replicationHops: (upstreamAlias: string) => Effect.Effect<number, KafkaError>
  /** topics replicated to this cluster (from `source` only, when given) */
  readonly remoteTopics: (source?: string) => Effect.Effect<ReadonlyArray<string>, KafkaError>
  /**
   * The newest checkpoint per partition of `group`, replicated from `remoteAlias`: the offsets
   * (with their metadata) to commit for it on this cluster. Empty when there are none.
   */
  readonly remoteConsumerOffsets: (group: string, remoteAlias: string) => Effect.Effect<ReadonlyArray<CommittedOffset>, KafkaError>
}

/** A MirrorClient of the cluster at `connection`, whose topics follow `policy`; closed with the scope. */
export const make = (
  connection: ConnectionSettings,
  policy: ReplicationPolicy
): Effect.Effect<MirrorClient, KafkaError, KafkaClient | Scope.Scope> =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    const admin = yield* kafka.admin(connection)
    const topics = admin.listTopics
    const remoteConsumerOffsets = (group: string, remoteAlias: string) =>
      Effect.gen(function*() {
        const topic = policy.checkpointsTopic(remoteAlias)
        if (!(yield* topics).includes(topic)) return []
        const latest = new Map<string, CommittedOffset>()
        yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* followTopic(connection, topic, `mirror-client.${remoteAlias}`, (r) => {
            const d = r.key === null || r.value === null ? undefined : Either.getRight(Checkpoint.decode(r.key, r.value))
            if (d === undefined || Option.isNone(d)) return Effect.logWarning(`skipping an undecodable record at offset ${r.offset} of ${topic}`)
            const { key, value } = d.value
            if (key.group === group) {
              latest.set(topicPartitionKey(key.topic, key.partition), {
                topic: key.topic,
                partition: key.partition,
                offset: String(value.offset),
                metadata: value.metadata
              })
            }
            return Effect.void
          })
          yield* Effect.raceFirst(reader.caughtUp, reader.crashed)
          yield* reader.stop
        }))
        return [...latest.values()]
      }).pipe(Effect.provideService(KafkaClient, kafka))
    return {
      heartbeatTopics: Effect.map(topics, (ts) => RemoteTopology.heartbeatTopics(policy, ts)),
      checkpointTopics: Effect.map(topics, (ts) => RemoteTopology.checkpointTopics(policy, ts)),
      upstreamClusters: Effect.map(topics, (ts) => RemoteTopology.upstreamClusters(policy, ts)),
      replicationHops: (upstreamAlias) => Effect.map(topics, (ts) => RemoteTopology.replicationHops(policy, ts, upstreamAlias)),
      remoteTopics: (source) => Effect.map(topics, (ts) => RemoteTopology.remoteTopics(policy, ts, source)),
      remoteConsumerOffsets
    }
  })
