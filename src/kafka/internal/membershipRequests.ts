/**
 * The four requests of Kafka's classic group membership protocol, for a group of our own protocol
 * type (not a consumer group: it owns no partitions): JoinGroup v6, SyncGroup v4, Heartbeat v4 and
 * LeaveGroup v4, the first flexible versions (Kafka 2.4+). kafkajs only joins groups as a
 * consumer, so these are encoded here (flexibleCodec.ts) and sent over its connections. Error
 * codes are returned, not thrown: the membership loop decides what each means.
 */
import { passThrough, type RawRequest, Reader, Writer } from "./flexibleCodec.js"

export const API_JOIN_GROUP = 11
export const API_HEARTBEAT = 12
export const API_LEAVE_GROUP = 13
export const API_SYNC_GROUP = 14

/** Error codes the membership loop acts on (Kafka's protocol error codes). */
export const MembershipError = {
  NONE: 0,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  ILLEGAL_GENERATION: 22,
  UNKNOWN_MEMBER_ID: 25,
  REBALANCE_IN_PROGRESS: 27,
  GROUP_AUTHORIZATION_FAILED: 30,
  MEMBER_ID_REQUIRED: 79,
  FENCED_INSTANCE_ID: 82
} as const

export interface JoinResponse {
  readonly errorCode: number
  readonly generationId: number
  readonly protocolName: string
  readonly leader: string
  readonly memberId: string
  /** every member's id and metadata; only the leader gets them */
  readonly members: ReadonlyArray<{ readonly memberId: string; readonly metadata: Buffer }>
}

export const joinGroup = (args: {
  readonly groupId: string
  readonly sessionTimeoutMs: number
  readonly rebalanceTimeoutMs: number
  readonly memberId: string
  readonly protocolType: string
  readonly protocolName: string
  readonly metadata: Buffer
}): RawRequest<JoinResponse> => ({
  request: {
    apiKey: API_JOIN_GROUP,
    apiVersion: 6,
    apiName: "JoinGroup",
    encode: () =>
      Promise.resolve(
        new Writer()
          .noTags()
          .compactString(args.groupId)
          .int32(args.sessionTimeoutMs)
          .int32(args.rebalanceTimeoutMs)
          .compactString(args.memberId)
          .compactNullableString(null) // group instance id: dynamic membership
          .compactString(args.protocolType)
          .compactArray([args.protocolName], (w, name) => w.compactString(name).compactBytes(args.metadata).noTags())
          .noTags()
          .done()
      )
  },
  // the broker answers once the rebalance completes, up to the rebalance timeout later
  requestTimeout: args.rebalanceTimeoutMs + 5_000,
  response: {
    decode: (raw) => {
      const r = new Reader(raw)
      r.skipTags()
      r.int32() // throttle time
      const errorCode = r.int16()
      const generationId = r.int32()
      const protocolName = r.compactString()
      const leader = r.compactString()
      const memberId = r.compactString()
      const members = r.compactArray((r) => {
        const id = r.compactString()
        r.compactNullableString() // group instance id
        const metadata = Buffer.from(r.compactBytes())
        r.skipTags()
        return { memberId: id, metadata }
      })
      r.skipTags()
      return Promise.resolve({ errorCode, generationId, protocolName, leader, memberId, members })
    },
    parse: passThrough
  }
})

export interface SyncResponse {
  readonly errorCode: number
  readonly assignment: Buffer
}

export const syncGroup = (args: {
  readonly groupId: string
  readonly generationId: number
  readonly memberId: string
  /** the leader's assignment of every member; empty from the others */
  readonly assignments: ReadonlyArray<{ readonly memberId: string; readonly assignment: Buffer }>
  readonly timeoutMs: number
}): RawRequest<SyncResponse> => ({
  request: {
    apiKey: API_SYNC_GROUP,
    apiVersion: 4,
    apiName: "SyncGroup",
    encode: () =>
      Promise.resolve(
        new Writer()
          .noTags()
          .compactString(args.groupId)
          .int32(args.generationId)
          .compactString(args.memberId)
          .compactNullableString(null)
          .compactArray(args.assignments, (w, a) => w.compactString(a.memberId).compactBytes(a.assignment).noTags())
          .noTags()
          .done()
      )
  },
  // a follower's SyncGroup waits for the leader's
  requestTimeout: args.timeoutMs,
  response: {
    decode: (raw) => {
      const r = new Reader(raw)
      r.skipTags()
      r.int32()
      const errorCode = r.int16()
      const assignment = Buffer.from(r.compactBytes())
      r.skipTags()
      return Promise.resolve({ errorCode, assignment })
    },
    parse: passThrough
  }
})

const errorCodeOnly = (raw: Buffer): Promise<number> => {
  const r = new Reader(raw)
  r.skipTags()
  r.int32()
  return Promise.resolve(r.int16())
}

export const heartbeat = (args: {
  readonly groupId: string
  readonly generationId: number
  readonly memberId: string
}): RawRequest<number> => ({
  request: {
    apiKey: API_HEARTBEAT,
    apiVersion: 4,
    apiName: "Heartbeat",
    encode: () =>
      Promise.resolve(
        new Writer()
          .noTags()
          .compactString(args.groupId)
          .int32(args.generationId)
          .compactString(args.memberId)
          .compactNullableString(null)
          .noTags()
          .done()
      )
  },
  response: { decode: errorCodeOnly, parse: passThrough }
})

export const leaveGroup = (args: { readonly groupId: string; readonly memberId: string }): RawRequest<number> => ({
  request: {
    apiKey: API_LEAVE_GROUP,
    apiVersion: 4,
    apiName: "LeaveGroup",
    encode: () =>
      Promise.resolve(
        new Writer()
          .noTags()
          .compactString(args.groupId)
          .compactArray([args.memberId], (w, id) => w.compactString(id).compactNullableString(null).noTags())
          .noTags()
          .done()
      )
  },
  response: { decode: errorCodeOnly, parse: passThrough }
})
