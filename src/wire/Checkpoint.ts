/**
 * MM2's checkpoint record (spec §5.3), byte-compatible with `org.apache.kafka.connect.mirror.Checkpoint`:
 * key = (group, target-side topic, partition), value = version 0, then upstreamOffset (the
 * group's committed source offset), offset (the translated target offset to commit) and the
 * group's commit metadata. Readers decode any version with the v0 layout, as MM2 does.
 */
import { Schema } from "effect"
import * as KafkaStruct from "./KafkaStruct.js"

export const CheckpointKey = KafkaStruct.struct({
  group: KafkaStruct.string,
  topic: KafkaStruct.string,
  partition: KafkaStruct.int32
})

export const CheckpointValue = KafkaStruct.struct(
  { upstreamOffset: KafkaStruct.int64, offset: KafkaStruct.int64, metadata: KafkaStruct.string },
  { version: 0 }
)

export interface Checkpoint {
  readonly group: string
  /** the topic on the target, e.g. `primary.orders` */
  readonly topic: string
  readonly partition: number
  readonly upstreamOffset: bigint
  readonly offset: bigint
  readonly metadata: string
}

export const encode = (c: Checkpoint): { readonly key: Buffer; readonly value: Buffer } => ({
  key: Buffer.from(Schema.encodeSync(CheckpointKey)({ group: c.group, topic: c.topic, partition: c.partition })),
  value: Buffer.from(Schema.encodeSync(CheckpointValue)({ upstreamOffset: c.upstreamOffset, offset: c.offset, metadata: c.metadata }))
})

export const decode = (key: Uint8Array, value: Uint8Array) =>
  Schema.decodeUnknownEither(Schema.Struct({ key: CheckpointKey, value: CheckpointValue }))({ key, value })
