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

/** Where a topic config's value comes from (Kafka's ConfigSource). */
export type ConfigSource =
  | "topic"
  | "dynamic-broker"
  | "dynamic-default-broker"
  | "static-broker"
  | "default"
  | "unknown"

export interface TopicConfigEntry {
  readonly name: string
  readonly value: string | null
  readonly source: ConfigSource
  readonly readOnly: boolean
  readonly sensitive: boolean
}

/** One change of a topic config: `set` a value, or `delete` the override (the default applies). */
export type ConfigOperation =
  | { readonly op: "set"; readonly name: string; readonly value: string }
  | { readonly op: "delete"; readonly name: string }

export type AclOperation =
  | "all"
  | "read"
  | "write"
  | "create"
  | "delete"
  | "alter"
  | "describe"
  | "cluster-action"
  | "describe-configs"
  | "alter-configs"
  | "idempotent-write"
  | "unknown"

/** An ACL on a topic: who (`User:alice`), from where (`*`), may or may not do what. */
export interface TopicAcl {
  readonly topic: string
  readonly pattern: "literal" | "prefixed" | "other"
  readonly principal: string
  readonly host: string
  readonly operation: AclOperation
  readonly permission: "allow" | "deny"
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
  /**
   * The topic id of each named topic the cluster knows (a topic deleted and recreated under the
   * same name gets a new one). Topics it does not know are left out; the map is empty when the
   * cluster does not report topic ids (Kafka before 2.8).
   */
  readonly topicIds: (names: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, string>, KafkaError>
  /** deletes the records of each partition below `offset` (Kafka's DeleteRecords; the log start moves there) */
  readonly deleteRecords: (
    topic: string,
    partitions: ReadonlyArray<{ readonly partition: number; readonly offset: string }>
  ) => Effect.Effect<void, KafkaError>
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
  /** every config of each topic with its source (a topic the cluster does not know fails) */
  readonly describeTopicConfigs: (
    topics: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyMap<string, ReadonlyArray<TopicConfigEntry>>, KafkaError>
  /**
   * Changes only the named configs of each topic (Kafka's IncrementalAlterConfigs), leaving the
   * others alone. Resolves with the topics the cluster refused, and why; fails only if the
   * request itself fails.
   */
  readonly alterTopicConfigs: (
    alterations: ReadonlyArray<{ readonly topic: string; readonly operations: ReadonlyArray<ConfigOperation> }>
  ) => Effect.Effect<ReadonlyArray<{ readonly topic: string; readonly detail: string }>, KafkaError>
  /** every ACL on topics (fails with reason `SecurityDisabled` on a cluster without an authorizer) */
  readonly describeTopicAcls: Effect.Effect<ReadonlyArray<TopicAcl>, KafkaError>
  /** adds literal topic ACLs (adding one that exists is harmless) */
  readonly createTopicAcls: (acls: ReadonlyArray<TopicAcl>) => Effect.Effect<void, KafkaError>
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
  /**
   * Decoded (decompressed) bytes one round of fetches may bring: fetch sizes, which count bytes as
   * fetched, then follow the compression ratio seen so far (see FetchSizing.ts). Without it,
   * fetch sizes are fixed whatever the ratio.
   */
  readonly fetchBudgetBytes?: number
  readonly maxWaitTimeMs?: number
  readonly readCommitted?: boolean
  /**
   * Asked, instead of a silent reset, when the broker says a fetch position is out of range
   * (retention or deleteRecords removed it, the log was truncated, the topic was recreated).
   * Its answer applies to that partition of this consumer only.
   */
  readonly onOffsetOutOfRange?: (position: TopicPartitionOffset) => Effect.Effect<OutOfRangeAction>
  /** where to start fetching instead of the committed offsets (applied before the first fetch) */
  readonly startAt?: ReadonlyArray<TopicPartitionOffset>
  /** partitions not to fetch at all */
  readonly paused?: ReadonlyArray<{ readonly topic: string; readonly partition: number }>
  /**
   * Runs before the consumer rejoins its group while it owns partitions, and the rejoin waits
   * for it: no other member of the group can be given them before it returns (while it runs, the
   * consumer keeps its session). The place to finish and commit what was fetched.
   */
  readonly onRevoking?: (owned: ReadonlyArray<AssignedPartitions>) => Effect.Effect<void>
  /** Runs once each (re)join gave the consumer its partitions (possibly none). */
  readonly onAssigned?: (assigned: ReadonlyArray<AssignedPartitions>, generation: number) => Effect.Effect<void>
}

/** A consumer's partitions of one topic in its group. */
export interface AssignedPartitions {
  readonly topic: string
  readonly partitions: ReadonlyArray<number>
}

/** What a consumer does with a partition whose fetch position is out of range. */
export type OutOfRangeAction =
  /** fetch from `offset` on */
  | { readonly _tag: "Seek"; readonly offset: string }
  /** fetch nothing more from the partition */
  | { readonly _tag: "Pause" }
  /** fetch the same position again */
  | { readonly _tag: "Retry" }

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
  /** commits the next offsets to read for the group, with their commit metadata */
  readonly commit: (
    offsets: ReadonlyArray<TopicPartitionOffset & { readonly metadata?: string | null }>
  ) => Effect.Effect<void, KafkaError>
}

/** What a join round of a membership group decided for this member. */
export interface Membership {
  readonly memberId: string
  readonly generation: number
  /** the group's leader chose this member for the group's single-instance work */
  readonly chosen: boolean
}

/**
 * A member of a group of Kafka's classic membership protocol that owns no partitions (its own
 * protocol type): the group's leader chooses one member, and every member hears whether it is
 * the one. Used to run a flow's once-per-flow duties on exactly one process.
 */
export interface GroupMember {
  /** Joins (again) and waits for the round to complete. */
  readonly join: Effect.Effect<Membership, KafkaError>
  /** "ok": still a member of that generation; "rejoin": the group is rebalancing or forgot this member. */
  readonly heartbeat: (membership: Membership) => Effect.Effect<"ok" | "rejoin", KafkaError>
  /** Leaves the group at once (the others rebalance without waiting for the session to expire). */
  readonly leave: Effect.Effect<void>
}

export interface GroupMemberOptions {
  readonly groupId: string
  readonly protocolType: string
  readonly sessionTimeoutMs: number
  readonly rebalanceTimeoutMs: number
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
  readonly groupMember: (
    connection: ConnectionSettings,
    options: GroupMemberOptions
  ) => Effect.Effect<GroupMember, KafkaError, Scope.Scope>
}>() {}
