/**
 * MM2's heartbeat record (spec §5.4), byte-compatible with `org.apache.kafka.connect.mirror.Heartbeat`:
 * key = (sourceClusterAlias, targetClusterAlias) of the herder that wrote it, value = version 0
 * then the emission time in epoch ms, which is also the record timestamp.
 */
import { Schema } from "effect"
import * as KafkaStruct from "./KafkaStruct.js"

export const HeartbeatKey = KafkaStruct.struct({
  sourceClusterAlias: KafkaStruct.string,
  targetClusterAlias: KafkaStruct.string
})

export const HeartbeatValue = KafkaStruct.struct({ timestamp: KafkaStruct.int64 }, { version: 0 })

export interface Heartbeat {
  readonly sourceClusterAlias: string
  readonly targetClusterAlias: string
  /** epoch milliseconds */
  readonly timestamp: bigint
}

/** The record's key and value bytes. */
export const encode = (h: Heartbeat): { readonly key: Buffer; readonly value: Buffer } => ({
  key: Buffer.from(Schema.encodeSync(HeartbeatKey)(h)),
  value: Buffer.from(Schema.encodeSync(HeartbeatValue)({ timestamp: h.timestamp }))
})

/** Reads a heartbeat record's key and value (as replicated copies carry them too). */
export const decode = (key: Uint8Array, value: Uint8Array) =>
  Schema.decodeUnknownEither(Schema.Struct({ key: HeartbeatKey, value: HeartbeatValue }))({ key, value })
