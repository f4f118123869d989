/**
 * The internal topics MM2's duties write (heartbeats, offset syncs, checkpoints): one partition,
 * compacted (readers want the newest record per key), with the replication factor of their key.
 */
import type { NewTopic } from "../kafka/KafkaRecord.js"

export const internalTopic = (name: string, replicationFactor: number): NewTopic => ({
  name,
  partitions: 1,
  replicationFactor,
  configs: [{ name: "cleanup.policy", value: "compact" }]
})
