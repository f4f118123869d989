/**
 * Fetch sizes that keep what a fetch decodes within a budget of decoded bytes. The broker's
 * limits (`maxBytes` per request, `maxBytesPerPartition`) count bytes as stored, i.e. compressed:
 * with a 100:1 source, a fetch of 6 x 1 MiB decodes to 600 MiB. So the sizes follow the
 * compression ratio observed on fetched partitions (decoded / fetched bytes):
 *
 *   maxBytes = budget / (brokers fetched from) / ratio, within [MIN_FETCH_BYTES, MAX_FETCH_BYTES]
 *   maxBytesPerPartition = min(configured, maxBytes)
 *
 * Until something was fetched the ratio is taken as INITIAL_RATIO (the first fetches are small);
 * a higher ratio is taken at once, a lower one gradually, so one poorly compressed batch does not
 * open the gate for a well compressed partition. The broker always returns at least one record
 * batch, so a small size slows a partition down, never stops it (kafkajs orders a fetch's
 * partitions at random, so each gets its turn to be first).
 */

/** Decoded bytes per fetched byte assumed before any fetch (zstd on repetitive data reaches this). */
export const INITIAL_RATIO = 256

/** Smallest fetch (bytes as fetched): below it, round trips rather than memory limit the rate. */
export const MIN_FETCH_BYTES = 64 * 1024

/** Largest fetch (kafkajs's default fetch.max.bytes is 10 MiB too). */
export const MAX_FETCH_BYTES = 10 * 1024 * 1024

/** Share of the distance to a lower observed ratio covered per observation. */
const RATIO_DECAY = 0.5

/** A broker not fetched from for this long no longer shares the budget. */
const NODE_IDLE_MS = 30_000

export interface FetchSizing {
  /** Sizes for the next fetch from broker `nodeId` (called before each fetch). */
  readonly sizes: (nodeId: number, now: number) => { readonly maxBytes: number; readonly maxBytesPerPartition: number }
  /** One partition's part of a fetch: `fetched` bytes as the broker sent them, `decoded` as held. */
  readonly observe: (fetched: number, decoded: number) => void
  /** The ratio the sizes follow now. */
  readonly ratio: () => number
}

export const make = (options: {
  /** decoded bytes one round of fetches (from every broker) may bring */
  readonly budgetBytes: number
  /** the consumer's max.partition.fetch.bytes */
  readonly maxPartitionBytes: number
}): FetchSizing => {
  let ratio = INITIAL_RATIO
  const nodes = new Map<number, number>()
  return {
    sizes: (nodeId, now) => {
      nodes.set(nodeId, now)
      let active = 0
      for (const [id, at] of nodes) {
        if (now - at > NODE_IDLE_MS) nodes.delete(id)
        else active++
      }
      const maxBytes = Math.floor(Math.min(MAX_FETCH_BYTES, Math.max(MIN_FETCH_BYTES, options.budgetBytes / Math.max(1, active) / ratio)))
      return { maxBytes, maxBytesPerPartition: Math.max(1, Math.min(options.maxPartitionBytes, maxBytes)) }
    },
    observe: (fetched, decoded) => {
      if (fetched <= 0 || decoded <= 0) return
      const seen = decoded / fetched
      ratio = seen >= ratio ? seen : ratio + (seen - ratio) * RATIO_DECAY
    },
    ratio: () => ratio
  }
}
