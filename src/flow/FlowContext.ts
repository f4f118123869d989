/**
 * Everything a flow's services share: its settings, its replication policy and topic filter,
 * and the client settings of each Kafka client it opens. Built once per flow. Configuration
 * validation already checked all of it; a bad value can only reach here from settings built by
 * hand (an embedding program), and then stops the flow before it connects, naming the key.
 */
import { Context, Data, Effect, Either, Layer } from "effect"
import type { FlowSettings } from "../config/Mm2Config.js"
import type { ConnectionSettings, ConsumerSettings, ProducerSettings } from "../kafka/ClientSettings.js"
import { fromClassName } from "../policy/PolicyFromConfig.js"
import type { ReplicationPolicy } from "../policy/ReplicationPolicy.js"
import { make as makeNameFilter, makeTopicFilter } from "../policy/TopicFilter.js"
import type { TopicSelection } from "../policy/TopicSelection.js"
import type { ConfigPropertyFilter } from "./TopicConfigs.js"

/** A flow cannot start with this configuration; names the key. */
export class FlowConfigError extends Data.TaggedError("FlowConfigError")<{
  readonly flow: string
  readonly key: string
  readonly detail: string
}> {
  override get message(): string {
    return `flow ${this.flow}: ${this.key}: ${this.detail}`
  }
}

export interface FlowContextShape {
  readonly settings: FlowSettings
  /** "source->target" */
  readonly name: string
  readonly policy: ReplicationPolicy
  readonly selection: TopicSelection
  /** which topic configs remote topics get (`config.properties.exclude`, `use.defaults.from`) */
  readonly configFilter: ConfigPropertyFilter
  /**
   * `mm2-offset-syncs.<other cluster>.internal`: named after the target when it lives on the
   * source (the default), after the source when `offset-syncs.topic.location = target`, as in MM2
   */
  readonly offsetSyncsTopic: string
  /** the source consumer group that stores replication progress (see README, "Progress") */
  readonly progressGroupId: string
  readonly sourceConsumer: ConnectionSettings
  readonly sourceConsumerSettings: ConsumerSettings
  readonly sourceAdmin: ConnectionSettings
  readonly targetAdmin: ConnectionSettings
  readonly targetProducer: ConnectionSettings
  readonly targetProducerSettings: ProducerSettings
}

/** Prefix of every consumer group effect-mm2 itself uses; such groups are never user groups. */
export const OWN_GROUP_PREFIX = "effect-mm2."

export const progressGroupId = (source: string, target: string): string => `${OWN_GROUP_PREFIX}${source}->${target}`

export const isOwnGroup = (groupId: string): boolean => groupId.startsWith(OWN_GROUP_PREFIX)

export class FlowContext extends Context.Tag("effect-mm2/FlowContext")<FlowContext, FlowContextShape>() {
  static make(settings: FlowSettings): Effect.Effect<FlowContextShape, FlowConfigError> {
    const name = settings.name
    const fail = (key: string, detail: string) => new FlowConfigError({ flow: name, key, detail })
    return Either.gen(function*() {
      const policy = yield* Either.mapLeft(
        fromClassName(settings.replicationPolicyClass, {
          separator: settings.replicationPolicySeparator,
          internalTopicSeparatorEnabled: settings.internalTopicSeparatorEnabled,
          sourceClusterAlias: settings.source
        }),
        (e) => fail(e.key, e.message)
      )
      const filter = yield* Either.mapLeft(
        makeTopicFilter({
          include: settings.topics,
          exclude: settings.topicsExclude,
          includeKey: "topics",
          excludeKey: "topics.exclude"
        }),
        (e) => fail(e.key, e.message)
      )
      const excluded = yield* Either.mapLeft(
        makeNameFilter({ include: [], exclude: settings.configPropertiesExclude, excludeKey: "config.properties.exclude" }),
        (e) => fail(e.key, e.message)
      )
      return {
        settings,
        name,
        policy,
        configFilter: { isExcluded: excluded.isExcluded, useDefaultsFrom: settings.useDefaultsFrom },
        selection: {
          policy,
          filter,
          targetAlias: settings.target,
          heartbeatsReplicationEnabled: settings.heartbeatsReplicationEnabled
        },
        offsetSyncsTopic: policy.offsetSyncsTopic(settings.offsetSyncsTopicLocation === "target" ? settings.source : settings.target),
        progressGroupId: progressGroupId(settings.source, settings.target),
        sourceConsumer: settings.clients.sourceConsumer,
        sourceConsumerSettings: settings.clients.sourceConsumerSettings,
        sourceAdmin: settings.clients.sourceAdmin,
        targetAdmin: settings.clients.targetAdmin,
        targetProducer: settings.clients.targetProducer,
        targetProducerSettings: settings.clients.targetProducerSettings
      }
    })
  }

  static layer(settings: FlowSettings): Layer.Layer<FlowContext, FlowConfigError> {
    return Layer.effect(FlowContext, FlowContext.make(settings))
  }
}
