/**
 * The replication-policy contract (spec §4.1): how remote topics are named and how MM2 recognises
 * its own internal topics. Implementations are plain objects of closures (no `this`), so a
 * policy can be passed around, spread and partially overridden safely.
 */
import { Context, Effect, Layer } from "effect"
import type { UnknownReplicationPolicy } from "./PolicyFromConfig.js"
import * as PolicyFromConfig from "./PolicyFromConfig.js"

export interface ReplicationPolicy {
  /** Fully-qualified Java class name this policy stands in for (used in logs and config echo). */
  readonly className: string
  /** Name of `topic` once replicated from cluster `sourceAlias`. */
  formatRemoteTopic(sourceAlias: string, topic: string): string
  /** Alias of the cluster `topic` was replicated from, or null if it is not a remote topic. */
  topicSource(topic: string): string | null
  /** Name of `topic` one hop upstream, or null if it is not a remote topic. */
  upstreamTopic(topic: string): string | null
  /** Name of `topic` on the cluster where it originated (follows upstreamTopic to the end). */
  originalTopic(topic: string): string
  heartbeatsTopic(): string
  offsetSyncsTopic(clusterAlias: string): string
  checkpointsTopic(clusterAlias: string): string
  isHeartbeatsTopic(topic: string): boolean
  isCheckpointsTopic(topic: string): boolean
  isMM2InternalTopic(topic: string): boolean
  /** MM2, Connect or broker internal topic: never replicated. */
  isInternalTopic(topic: string): boolean
}

/**
 * What `configure(props)` of the Java policies reads. `undefined` means "key absent", which matters:
 * the separator flag is only honoured when a separator is configured (spec §4.2).
 */
export interface ReplicationPolicyOptions {
  /** `replication.policy.separator`; absent => `.` */
  readonly separator?: string | undefined
  /** `replication.policy.internal.topic.separator.enabled`; absent => true */
  readonly internalTopicSeparatorEnabled?: boolean | undefined
  /** `source.cluster.alias`; only IdentityReplicationPolicy uses it */
  readonly sourceClusterAlias?: string | undefined
}

/** Options plus `replication.policy.class` (absent => DefaultReplicationPolicy). */
export interface ReplicationPolicyConfig extends ReplicationPolicyOptions {
  readonly className?: string | undefined
}

/** Service tag under which the flow's configured policy is provided. */
export class ReplicationPolicyService extends Context.Tag("effect-mm2/ReplicationPolicy")<
  ReplicationPolicyService,
  ReplicationPolicy
>() {
  /** Builds the policy from config; an unsupported class name fails layer construction. */
  static layer(config: ReplicationPolicyConfig): Layer.Layer<ReplicationPolicyService, UnknownReplicationPolicy> {
    return Layer.effect(
      ReplicationPolicyService,
      Effect.suspend(() => PolicyFromConfig.fromClassName(config.className ?? PolicyFromConfig.DEFAULT_CLASS_NAME, config))
    )
  }

  /** Provides an already-built policy (tests, or callers that resolved the config themselves). */
  static layerPolicy(policy: ReplicationPolicy): Layer.Layer<ReplicationPolicyService> {
    return Layer.succeed(ReplicationPolicyService, policy)
  }
}
