/**
 * MM2's offset sync record (spec §5.2), byte-compatible with `org.apache.kafka.connect.mirror.OffsetSync`:
 * key = (source topic, source partition), value = (upstreamOffset: the record's source offset,
 * offset: where the same record sits on the target), no version prefix.
 */
import { Schema } from "effect"
import * as KafkaStruct from "./KafkaStruct.js"

export const OffsetSyncKey = KafkaStruct.struct({ topic: KafkaStruct.string, partition: KafkaStruct.int32 })

export const OffsetSyncValue = KafkaStruct.struct({ upstreamOffset: KafkaStruct.int64, offset: KafkaStruct.int64 })

export interface OffsetSync {
  readonly topic: string
  readonly partition: number
  readonly upstreamOffset: bigint
  readonly offset: bigint
}

/** The record's key and value bytes. */
export const encode = (s: OffsetSync): { readonly key: Buffer; readonly value: Buffer } => ({
  key: Buffer.from(Schema.encodeSync(OffsetSyncKey)({ topic: s.topic, partition: s.partition })),
  value: Buffer.from(Schema.encodeSync(OffsetSyncValue)({ upstreamOffset: s.upstreamOffset, offset: s.offset }))
})

export const decode = (key: Uint8Array, value: Uint8Array) =>
  Schema.decodeUnknownEither(Schema.Struct({ key: OffsetSyncKey, value: OffsetSyncValue }))({ key, value })
