/**
 * Metadata v10-v12 (Kafka 2.8+; v12 from 3.1, what 3.9 and 4.x brokers answer): the topic ids
 * of named topics. kafkajs 2.2.4 speaks Metadata up to v6, which has no topic ids; we need them
 * to tell a topic that was deleted and recreated under the same name from the one we replicated.
 * Encoded in Kafka's flexible format (flexibleCodec.ts), sent over kafkajs's broker connections.
 */
import { passThrough, type RawRequest, Reader, Writer } from "./flexibleCodec.js"

export const API_METADATA = 3
/** the newest version we encode; the request and response we read are the same in 11 and 12 */
export const METADATA_TOPIC_IDS_VERSION = 12
/** the oldest version with topic ids */
export const METADATA_TOPIC_IDS_MIN_VERSION = 10

export interface TopicIdMetadata {
  readonly name: string
  /** Kafka's Uuid as its `toString` prints it (URL-safe base64, no padding); undefined when the broker has none */
  readonly topicId: string | undefined
  readonly errorCode: number
  readonly partitions: number
}

/** Kafka's Uuid.ZERO_UUID: "no id" */
const ZERO = Buffer.alloc(16)

const readUuid = (r: Reader): Buffer => {
  const b = Buffer.alloc(16)
  b.writeBigInt64BE(r.int64(), 0)
  b.writeBigInt64BE(r.int64(), 8)
  return b
}

/** Kafka's `Uuid.toString()`: URL-safe base64 without padding (22 characters). */
export const uuidString = (b: Buffer): string => b.toString("base64url")

/**
 * Metadata of the named topics (no broker auto-creation), at `version` 10, 11 or 12. A topic
 * the cluster does not know comes back with its error code (UNKNOWN_TOPIC_OR_PARTITION).
 */
export const topicIdsRequest = (
  names: ReadonlyArray<string>,
  version: number = METADATA_TOPIC_IDS_VERSION
): RawRequest<ReadonlyArray<TopicIdMetadata>> => ({
  request: {
    apiKey: API_METADATA,
    apiVersion: version,
    apiName: "Metadata",
    encode: () => {
      const w = new Writer()
        .noTags()
        // per topic: a zero id (we ask by name), the name, no tags
        .compactArray(names, (w, name) => w.int32(0).int32(0).int32(0).int32(0).compactString(name).noTags())
        .int8(0) // allow_auto_topic_creation
      if (version <= 10) w.int8(0) // include_cluster_authorized_operations (v8-v10)
      return Promise.resolve(w.int8(0).noTags().done()) // include_topic_authorized_operations
    }
  },
  response: {
    decode: (raw) => {
      const r = new Reader(raw)
      r.skipTags()
      r.int32() // throttle time
      r.compactArray((r) => {
        r.int32() // node id
        r.compactString() // host
        r.int32() // port
        r.compactNullableString() // rack
        r.skipTags()
      })
      r.compactNullableString() // cluster id
      r.int32() // controller id
      const topics = r.compactArray((r): TopicIdMetadata => {
        const errorCode = r.int16()
        const name = r.compactNullableString() ?? ""
        const id = readUuid(r)
        r.int8() // is internal
        const partitions = r.compactArray((r) => {
          r.int16() // error code
          r.int32() // partition index
          r.int32() // leader id
          r.int32() // leader epoch
          r.compactArray((r) => r.int32()) // replicas
          r.compactArray((r) => r.int32()) // isr
          r.compactArray((r) => r.int32()) // offline replicas
          r.skipTags()
        }).length
        r.int32() // topic authorized operations
        r.skipTags()
        return { name, topicId: id.equals(ZERO) ? undefined : uuidString(id), errorCode, partitions }
      })
      // cluster authorized operations (v8-v10) and the tagged fields follow: not needed
      return Promise.resolve(topics)
    },
    parse: passThrough
  }
})
