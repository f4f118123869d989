/**
 * Two group requests kafkajs 2.2.4 cannot make, encoded here in Kafka's flexible format (compact
 * strings and arrays, tagged fields), sent over kafkajs's broker connections:
 * - FindCoordinator v4 (KIP-699, Kafka 3.0+): the coordinators of many groups in one request;
 * - OffsetFetch v8 (KIP-709, Kafka 3.0+): the committed offsets of many groups in one request.
 * kafkajs knows only one group per request of each, which makes a checkpoint round over 10,000
 * groups cost 20,000 round trips; with these it costs one per coordinator per 1,000 groups.
 * The flexible format itself is in flexibleCodec.ts.
 */
import { passThrough, type RawRequest, Reader, Writer } from "./flexibleCodec.js"

export type { RawRequest } from "./flexibleCodec.js"

export const API_OFFSET_FETCH = 9
export const API_FIND_COORDINATOR = 10
export const OFFSET_FETCH_BATCHED_VERSION = 8
export const FIND_COORDINATOR_BATCHED_VERSION = 4

// --- FindCoordinator v4 ----------------------------------------------------------------------

export interface Coordinator {
  readonly key: string
  readonly nodeId: number
  readonly host: string
  readonly port: number
  readonly errorCode: number
  readonly errorMessage: string | null
}

/** The coordinators of many consumer groups (key type 0 = group). */
export const findCoordinators = (groups: ReadonlyArray<string>): RawRequest<ReadonlyArray<Coordinator>> => ({
  request: {
    apiKey: API_FIND_COORDINATOR,
    apiVersion: FIND_COORDINATOR_BATCHED_VERSION,
    apiName: "FindCoordinator",
    encode: () =>
      Promise.resolve(
        new Writer().noTags().int8(0).compactArray(groups, (w, g) => w.compactString(g)).noTags().done()
      )
  },
  response: {
    decode: (raw) => {
      const r = new Reader(raw)
      r.skipTags()
      r.int32() // throttle time
      const coordinators = r.compactArray((r): Coordinator => {
        const c = {
          key: r.compactString(),
          nodeId: r.int32(),
          host: r.compactString(),
          port: r.int32(),
          errorCode: r.int16(),
          errorMessage: r.compactNullableString()
        }
        r.skipTags()
        return c
      })
      return Promise.resolve(coordinators)
    },
    parse: passThrough
  }
})

// --- OffsetFetch v8 --------------------------------------------------------------------------

export interface FetchedPartition {
  readonly partition: number
  /** -1 where the group has no committed offset */
  readonly offset: bigint
  readonly metadata: string | null
  readonly errorCode: number
}

export interface FetchedGroup {
  readonly groupId: string
  readonly errorCode: number
  readonly topics: ReadonlyArray<{ readonly topic: string; readonly partitions: ReadonlyArray<FetchedPartition> }>
}

/** Every committed offset of each of `groups` (all its topics), from their common coordinator. */
export const fetchGroupsOffsets = (groups: ReadonlyArray<string>): RawRequest<ReadonlyArray<FetchedGroup>> => ({
  request: {
    apiKey: API_OFFSET_FETCH,
    apiVersion: OFFSET_FETCH_BATCHED_VERSION,
    apiName: "OffsetFetch",
    encode: () =>
      Promise.resolve(
        new Writer()
          .noTags()
          // per group: its id, null topics (= all of them), no tags
          .compactArray(groups, (w, g) => w.compactString(g).compactArray(null, () => undefined).noTags())
          .int8(0) // require_stable: false (an unstable offset is still a committed one)
          .noTags()
          .done()
      )
  },
  response: {
    decode: (raw) => {
      const r = new Reader(raw)
      r.skipTags()
      r.int32() // throttle time
      const result = r.compactArray((r): FetchedGroup => {
        const groupId = r.compactString()
        const topics = r.compactArray((r) => {
          const topic = r.compactString()
          const partitions = r.compactArray((r): FetchedPartition => {
            const partition = r.int32()
            const offset = r.int64()
            r.int32() // committed leader epoch
            const metadata = r.compactNullableString()
            const errorCode = r.int16()
            r.skipTags()
            return { partition, offset, metadata, errorCode }
          })
          r.skipTags()
          return { topic, partitions }
        })
        const errorCode = r.int16()
        r.skipTags()
        return { groupId, errorCode, topics }
      })
      return Promise.resolve(result)
    },
    parse: passThrough
  }
})
