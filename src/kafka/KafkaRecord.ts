/**
 * Our own record and batch types. The kafkajs adapter decodes straight into these shapes
 * (see internal/kafkajs.ts), so the replication hot path never copies a record to convert it.
 */
export interface RecordHeader {
  readonly key: string
  readonly value: Buffer | null
}

/** One record as fetched: offsets and timestamps are decimal strings (int64 does not fit a number). */
export interface KafkaRecord {
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: ReadonlyArray<RecordHeader>
  /** epoch milliseconds, as the source broker reported it */
  readonly timestamp: string
  readonly offset: string
}

/** Records fetched from one partition, in offset order. */
export interface FetchedBatch {
  readonly topic: string
  readonly partition: number
  readonly records: ReadonlyArray<KafkaRecord>
  /** log-end offset of the partition when the batch was fetched */
  readonly highWatermark: string
  /** `decodedBytes(records)`, when the client measured it already */
  readonly bytes?: number
}

/** JavaScript objects per fetched record besides its bytes (the record, its Buffer views, offset and timestamp strings). */
export const RECORD_OVERHEAD = 320

/** Bytes fetched records hold in memory, decoded (decompressed): keys, values, headers and RECORD_OVERHEAD each. */
export const decodedBytes = (records: ReadonlyArray<KafkaRecord>): number => {
  let n = records.length * RECORD_OVERHEAD
  for (const r of records) {
    n += (r.key?.length ?? 0) + (r.value?.length ?? 0)
    for (const h of r.headers) n += h.key.length + (h.value?.length ?? 0)
  }
  return n
}

/** Records to append to one partition, in order. Only key, value, headers and timestamp are written. */
export interface PartitionWrite {
  readonly topic: string
  readonly partition: number
  readonly records: ReadonlyArray<Pick<KafkaRecord, "key" | "value" | "headers" | "timestamp">>
}

/** Where the broker put a PartitionWrite: its records got offsets baseOffset, baseOffset+1, ... */
export interface PartitionAck {
  readonly topic: string
  readonly partition: number
  readonly baseOffset: string
}

/** The one key of a topic-partition in maps (NUL cannot occur in a topic name). */
export const topicPartitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`

/** The topic of a `topicPartitionKey`. */
export const topicOfKey = (key: string): string => key.slice(0, key.lastIndexOf("\u0000"))

export interface TopicPartitionOffset {
  readonly topic: string
  readonly partition: number
  readonly offset: string
}

export interface TopicDescription {
  readonly name: string
  readonly partitions: number
}

export interface NewTopic {
  readonly name: string
  readonly partitions: number
  /** -1 = the broker's default.replication.factor */
  readonly replicationFactor: number
  readonly configs?: ReadonlyArray<{ readonly name: string; readonly value: string }>
}

export interface PartitionOffsets {
  readonly partition: number
  /** log start offset */
  readonly low: string
  /** log end offset */
  readonly high: string
}
