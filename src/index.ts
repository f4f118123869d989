/**
 * Public API of effect-mm2 when embedded in another Effect program: `import { ... } from
 * "effect-mm2"`. This entry is the package's only export (package.json `exports`); everything
 * else is internal and may change.
 */

// run it: the replicator as a Layer (from typed settings, a properties file or properties text)
export * as Mm2 from "./Mm2.js"
export * as Mm2Config from "./config/Mm2Config.js"
// observe and control it
export { NoSuchFlow, Replicator } from "./Replicator.js"
export { type LostRange, type TaskKind, TaskState, type TaskStatus } from "./supervision/TaskState.js"
// its typed errors
export { type FlowFailure, FlowsFailed } from "./herder/Herders.js"
export { ConfigError, type ConfigIssue, InvalidConfig } from "./config/ConfigError.js"
export { KafkaError, type KafkaErrorReason } from "./kafka/KafkaError.js"
export { FlowConfigError, progressGroupId } from "./flow/FlowContext.js"
export { KafkaJsPatchError } from "./kafka/internal/kafkajs.js"
// Kafka access, for Mm2.layerWith and the client functions
export { KafkaClient } from "./kafka/KafkaClient.js"
export * as KafkaJsClient from "./kafka/KafkaJsClient.js"
export type { ConnectionSettings } from "./kafka/ClientSettings.js"
// replication policies (MM2's topic naming)
export type { ReplicationPolicy, ReplicationPolicyOptions } from "./policy/ReplicationPolicy.js"
export * as DefaultReplicationPolicy from "./policy/DefaultReplicationPolicy.js"
export * as IdentityReplicationPolicy from "./policy/IdentityReplicationPolicy.js"
// MM2's MirrorClient / RemoteClusterUtils and offset translation for failover and failback
export * as MirrorClient from "./client/MirrorClient.js"
export * as RemoteTopology from "./client/RemoteTopology.js"
export * as GroupTranslation from "./client/GroupTranslation.js"
