/**
 * The only door to Kafka. Flows, tools and tests talk to these interfaces with our own types;
 * the implementation (today kafkajs, see KafkaJsClient.ts) can be replaced in one place.
 */
import { Context, type Effect, type Scope } from "effect"
import type { ConnectionSettings, ProducerSettings } from "./ClientSettings.js"
import type { KafkaError } from "./KafkaError.js"
import type {
  FetchedBatch,
  NewTopic,
  PartitionAck,
  PartitionOffsets,
  PartitionWrite,
  TopicDescription,
  TopicPartitionOffset
} from "./KafkaRecord.js"

/** A committed offset of a consumer group, with the metadata its consumer committed with it. */
export interface CommittedOffset extends TopicPartitionOffset {
  readonly metadata: string | null
}

export interface GroupsOffsets {
  readonly offsets: ReadonlyMap<string, ReadonlyArray<CommittedOffset>>
  /** groups the cluster could not answer for this time (coordinator moving, loading), with why */
  readonly failed: ReadonlyArray<{ readonly group: string; readonly detail: string }>
}

export interface GroupDescription {
  readonly group: string
  /** the broker's name: `Empty`, `Stable`, `PreparingRebalance`, `CompletingRebalance`, `Dead` (unknown) */
  readonly state: string
  /** `consumer` for consumer groups; empty for a group that only has committed offsets */
  readonly protocolType: string
  readonly members: number
}

export interface KafkaAdmin {
  /** user topics (broker-internal `__*` topics are listed too; callers filter) */
  readonly listTopics: Effect.Effect<ReadonlyArray<string>, KafkaError>
  readonly describeTopics: (names: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<TopicDescription>, KafkaError>
  /** creates what is missing; a topic that already exists is not an error. Returns the names created. */
  readonly createTopics: (topics: ReadonlyArray<NewTopic>) => Effect.Effect<ReadonlyArray<string>, KafkaError>
  readonly createPartitions: (
    increases: ReadonlyArray<{ readonly topic: string; readonly count: number }>
  ) => Effect.Effect<void, KafkaError>
  readonly fetchTopicOffsets: (topic: string) => Effect.Effect<ReadonlyArray<PartitionOffsets>, KafkaError>
  /** the ids of the cluster's consumer groups (classic protocol type "consumer") */
  readonly listGroups: Effect.Effect<ReadonlyArray<string>, KafkaError>
  /** committed offsets (-1 where none) with their commit metadata, of the given topics' partitions */
  readonly fetchGroupOffsets: (
    groupId: string,
    topics: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<TopicPartitionOffset & { readonly metadata?: string | null }>, KafkaError>
  /**
   * Every committed offset of each of `groups`, in as few requests as the brokers allow (one per
   * coordinator per 1,000 groups on Kafka 3.0+). `topics` only narrows the fallback for older brokers.
   */
  readonly fetchOffsetsOfGroups: (
    groups: ReadonlyArray<string>,
    topics: ReadonlyArray<string>
  ) => Effect.Effect<GroupsOffsets, KafkaError>
  /** state and member count of each group (a group unknown to the cluster is `Dead`) */
  readonly describeGroups: (groups: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<GroupDescription>, KafkaError>
  readonly deleteTopics: (names: ReadonlyArray<string>) => Effect.Effect<void, KafkaError>
  /**
   * Commits offsets, with their metadata, for a consumer group from outside it. The broker
   * accepts this only while the group has no active members (it fails otherwise, naming the group).
   */
  readonly commitGroupOffsets: (
    groupId: string,
    offsets: ReadonlyArray<TopicPartitionOffset & { readonly metadata?: string | null }>
  ) => Effect.Effect<void, KafkaError>
  /** protocol requests this admin has sent so far (to report what a round of work costs) */
  readonly requests: Effect.Effect<number>
}

export interface KafkaProducer {
  /**
   * Appends each write to its partition, all in one round (at most one write per topic-partition).
   * Resolves once the broker acknowledged every partition, with the offset each batch landed at.
   * Never call it concurrently on one producer: order and kafkajs's idempotence rely on that.
   */
  readonly send: (writes: ReadonlyArray<PartitionWrite>) => Effect.Effect<ReadonlyArray<PartitionAck>, KafkaError>
}

export interface ConsumerOptions {
  readonly groupId: string
  readonly topics: ReadonlyArray<string>
  /** where to start in partitions the group has no committed offset for */
  readonly fromBeginning: boolean
  /** how many partitions' batches may be handled at the same time */
  readonly partitionsConsumedConcurrently: number
  readonly maxBytesPerPartition?: number
  readonly maxWaitTimeMs?: number
  readonly readCommitted?: boolean
}

export interface KafkaConsumer {
  /**
   * Starts fetching. `onBatch` is awaited before the partition is fetched again, so a slow
   * handler pauses fetching (backpressure). Offsets are never committed implicitly.
   */
  readonly start: (onBatch: (batch: FetchedBatch) => Effect.Effect<void>) => Effect.Effect<void, KafkaError>
  /** fails when the consumer stops on its own (a crash); never succeeds */
  readonly crashed: Effect.Effect<never, KafkaError>
  /** stops fetching; waits for running `onBatch` calls to return */
  readonly stop: Effect.Effect<void>
  /** commits the next offsets to read for the group */
  readonly commit: (offsets: ReadonlyArray<TopicPartitionOffset>) => Effect.Effect<void, KafkaError>
}

export class KafkaClient extends Context.Tag("effect-mm2/KafkaClient")<KafkaClient, {
  readonly admin: (connection: ConnectionSettings) => Effect.Effect<KafkaAdmin, KafkaError, Scope.Scope>
  readonly producer: (
    connection: ConnectionSettings,
    settings: ProducerSettings
  ) => Effect.Effect<KafkaProducer, KafkaError, Scope.Scope>
  readonly consumer: (
    connection: ConnectionSettings,
    options: ConsumerOptions
  ) => Effect.Effect<KafkaConsumer, KafkaError, Scope.Scope>
}>() {}
