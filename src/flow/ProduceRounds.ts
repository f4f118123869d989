/**
 * How fetched batches become produce requests: a partition's records are cut into chunks no
 * larger than the target accepts as one record batch, and chunks are grouped into rounds (one
 * request each) with at most one chunk per partition, keeping each partition's order.
 */
import { type FetchedBatch, type KafkaRecord, type PartitionWrite, topicPartitionKey } from "../kafka/KafkaRecord.js"

/** upper bound of one produce request (the broker's socket.request.max.bytes is 100 MiB) */
export const ROUND_MAX_BYTES = 8 * 1024 * 1024

/** bytes a record adds to a request beyond its key, value and headers (a generous upper bound) */
const RECORD_OVERHEAD = 24

export const recordSize = (r: KafkaRecord): number => {
  let size = RECORD_OVERHEAD + (r.key?.length ?? 0) + (r.value?.length ?? 0)
  for (const h of r.headers) size += h.key.length + (h.value?.length ?? 0) + 8
  return size
}

export interface Chunk {
  readonly source: FetchedBatch
  readonly write: PartitionWrite
  readonly bytes: number
}

/** Splits one batch into consecutive chunks of at most `maxBytes` (a single larger record goes alone). */
export const chunksOf = (batch: FetchedBatch, write: PartitionWrite, maxBytes: number): Array<Chunk> => {
  const records = batch.records
  const out: Array<Chunk> = []
  let start = 0
  let bytes = 0
  for (let i = 0; i < records.length; i++) {
    const size = recordSize(records[i]!)
    if (bytes + size > maxBytes && i > start) {
      // rare path (a fetch larger than one request): only here are records sliced
      const slice = records.slice(start, i)
      out.push({ source: { ...batch, records: slice }, write: { ...write, records: slice }, bytes })
      start = i
      bytes = 0
    }
    bytes += size
  }
  if (start === 0) {
    out.push({ source: batch, write, bytes })
  } else {
    const slice = records.slice(start)
    out.push({ source: { ...batch, records: slice }, write: { ...write, records: slice }, bytes })
  }
  return out
}

/**
 * Orders chunks into rounds: each round holds at most one chunk per target partition and at most
 * ROUND_MAX_BYTES in total (at least one chunk), and a partition's chunks go out in fetch order.
 */
export const roundsOf = (chunks: ReadonlyArray<Chunk>, maxRoundBytes = ROUND_MAX_BYTES): Array<Array<Chunk>> => {
  const rounds: Array<{ chunks: Array<Chunk>; partitions: Set<string>; bytes: number }> = []
  const nextRound = new Map<string, number>()
  for (const chunk of chunks) {
    const key = topicPartitionKey(chunk.write.topic, chunk.write.partition)
    let i = nextRound.get(key) ?? 0
    for (;; i++) {
      const round = rounds[i]
      if (round === undefined) {
        rounds.push({ chunks: [chunk], partitions: new Set([key]), bytes: chunk.bytes })
        break
      }
      if (!round.partitions.has(key) && round.bytes + chunk.bytes <= maxRoundBytes) {
        round.chunks.push(chunk)
        round.partitions.add(key)
        round.bytes += chunk.bytes
        break
      }
    }
    nextRound.set(key, i + 1)
  }
  return rounds.map((r) => r.chunks)
}

