/**
 * The internal topics MM2's duties write (heartbeats, offset syncs, checkpoints): one partition,
 * compacted (readers want the newest record per key), with the replication factor of their key.
 */
import { Effect } from "effect"
import { FlowConfigError } from "../flow/FlowContext.js"
import type { KafkaAdmin } from "../kafka/KafkaClient.js"
import { isReplicationFactorRefused, type KafkaError } from "../kafka/KafkaError.js"
import type { NewTopic } from "../kafka/KafkaRecord.js"

export const internalTopic = (name: string, replicationFactor: number): NewTopic => ({
  name,
  partitions: 1,
  replicationFactor,
  configs: [{ name: "cleanup.policy", value: "compact" }]
})

/**
 * Creates an internal topic if missing. A cluster with too few brokers for the configured
 * factor is a configuration error naming the key to change (a retry could never succeed).
 */
export const createInternalTopic = (
  admin: KafkaAdmin,
  options: {
    readonly flow: string
    readonly cluster: string
    readonly topic: string
    readonly replicationFactor: number
    /** the key that sets `replicationFactor`, e.g. `checkpoints.topic.replication.factor` */
    readonly key: string
  }
): Effect.Effect<void, KafkaError | FlowConfigError> =>
  admin.createTopics([internalTopic(options.topic, options.replicationFactor)]).pipe(
    Effect.asVoid,
    Effect.mapError((e) =>
      isReplicationFactorRefused(e)
        ? new FlowConfigError({
          flow: options.flow,
          key: options.key,
          detail: `cluster '${options.cluster}' cannot create ${options.topic} with ${options.replicationFactor} replicas ` +
            `(${e.detail}); set ${options.flow}.${options.key} (or ${options.key} for every flow) to at most its number of brokers`
        })
        : e
    )
  )
