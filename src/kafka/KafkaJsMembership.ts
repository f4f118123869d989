/**
 * GroupMember over kafkajs's connections: Kafka's classic group membership (JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup, see internal/membershipRequests.ts) for a group of our own protocol type.
 * The group's leader (the broker picks it: the first member, kept while it stays) chooses itself;
 * every member learns from its SyncGroup answer whether it is the chosen one.
 *
 * The member has a connection of its own: a JoinGroup waits on the broker for the whole round,
 * and a broker answers one connection's requests in order.
 */
import { Effect } from "effect"
import type * as K from "kafkajs"
import { kafkaErrorName } from "./internal/kafkajs.js"
import { heartbeat, joinGroup, leaveGroup, MembershipError, syncGroup } from "./internal/membershipRequests.js"
import type { GroupMember, GroupMemberOptions, Membership } from "./KafkaClient.js"
import { KafkaError } from "./KafkaError.js"
import { makeKafkaJsGroups } from "./KafkaJsGroups.js"

/** How often a join is tried again when the coordinator is moving or loading, before giving up (the caller retries). */
const JOIN_ATTEMPTS = 30
const COORDINATOR_RETRY_MS = 300

const PROTOCOL_NAME = "single-instance"

const CHOSEN = Buffer.from([1])
const NOT_CHOSEN = Buffer.from([0])

const coordinatorMoved = (code: number): boolean =>
  code === MembershipError.NOT_COORDINATOR || code === MembershipError.COORDINATOR_NOT_AVAILABLE ||
  code === MembershipError.COORDINATOR_LOAD_IN_PROGRESS

export const makeGroupMember = (
  kafka: K.Kafka,
  cluster: string,
  options: GroupMemberOptions,
  toKafkaError: (operation: string) => (e: unknown) => KafkaError
): { readonly member: GroupMember; readonly close: () => Promise<void> } => {
  const groups = makeKafkaJsGroups(kafka)
  const { groupId } = options
  let memberId = ""

  const failure = (operation: string, code: number) => {
    const name = kafkaErrorName(code)
    const denied = code === MembershipError.GROUP_AUTHORIZATION_FAILED
    return new KafkaError({
      cluster,
      operation,
      reason: denied ? "Authorization" : "Transient",
      retriable: !denied,
      detail: denied
        ? `${name}: our user needs Read on group ${groupId} on this cluster (a prefixed ACL on effect-mm2. covers it)`
        : `${name} from the coordinator of group ${groupId}`
    })
  }

  const send = <A>(operation: string, request: Parameters<typeof groups.sendToCoordinator<A>>[1]) =>
    Effect.tryPromise({ try: () => groups.sendToCoordinator(groupId, request), catch: toKafkaError(operation) }).pipe(
      Effect.tapError(() => Effect.sync(groups.forgetCoordinator))
    )

  const join: Effect.Effect<Membership, KafkaError> = Effect.gen(function*() {
    for (let attempt = 1;; attempt++) {
      const joined = yield* send(`join group ${groupId}`, joinGroup({
        groupId,
        sessionTimeoutMs: options.sessionTimeoutMs,
        rebalanceTimeoutMs: options.rebalanceTimeoutMs,
        memberId,
        protocolType: options.protocolType,
        protocolName: PROTOCOL_NAME,
        metadata: Buffer.alloc(0)
      }))
      const code = joined.errorCode
      if (code === MembershipError.MEMBER_ID_REQUIRED) {
        // KIP-394: the first join only hands out the member id
        memberId = joined.memberId
        continue
      }
      if (code === MembershipError.UNKNOWN_MEMBER_ID || code === MembershipError.FENCED_INSTANCE_ID) {
        memberId = ""
        continue
      }
      if (code === MembershipError.REBALANCE_IN_PROGRESS && attempt < JOIN_ATTEMPTS) continue
      if (coordinatorMoved(code) && attempt < JOIN_ATTEMPTS) {
        groups.forgetCoordinator()
        yield* Effect.sleep(COORDINATOR_RETRY_MS)
        continue
      }
      if (code !== MembershipError.NONE) return yield* failure(`join group ${groupId}`, code)
      memberId = joined.memberId
      const leads = joined.leader === joined.memberId
      const synced = yield* send(`sync group ${groupId}`, syncGroup({
        groupId,
        generationId: joined.generationId,
        memberId,
        // the leader chooses itself; it stays leader while it stays a member
        assignments: leads ? joined.members.map((m) => ({ memberId: m.memberId, assignment: m.memberId === memberId ? CHOSEN : NOT_CHOSEN })) : [],
        timeoutMs: options.rebalanceTimeoutMs + 5_000
      }))
      if (synced.errorCode === MembershipError.UNKNOWN_MEMBER_ID) memberId = ""
      if (
        (synced.errorCode === MembershipError.REBALANCE_IN_PROGRESS || synced.errorCode === MembershipError.ILLEGAL_GENERATION ||
          synced.errorCode === MembershipError.UNKNOWN_MEMBER_ID || coordinatorMoved(synced.errorCode)) && attempt < JOIN_ATTEMPTS
      ) {
        if (coordinatorMoved(synced.errorCode)) groups.forgetCoordinator()
        continue
      }
      if (synced.errorCode !== MembershipError.NONE) return yield* failure(`sync group ${groupId}`, synced.errorCode)
      return { memberId, generation: joined.generationId, chosen: synced.assignment.length > 0 && synced.assignment[0] === 1 }
    }
  })

  const beat = (m: Membership): Effect.Effect<"ok" | "rejoin", KafkaError> =>
    Effect.flatMap(send(`heartbeat to group ${groupId}`, heartbeat({ groupId, generationId: m.generation, memberId: m.memberId })), (code) => {
      if (code === MembershipError.NONE) return Effect.succeed("ok" as const)
      if (code === MembershipError.REBALANCE_IN_PROGRESS || code === MembershipError.ILLEGAL_GENERATION) return Effect.succeed("rejoin" as const)
      if (code === MembershipError.UNKNOWN_MEMBER_ID || code === MembershipError.FENCED_INSTANCE_ID) {
        memberId = ""
        return Effect.succeed("rejoin" as const)
      }
      if (coordinatorMoved(code)) groups.forgetCoordinator()
      return Effect.fail(failure(`heartbeat to group ${groupId}`, code))
    })

  const leave: Effect.Effect<void> = Effect.suspend(() => {
    if (memberId === "") return Effect.void
    const id = memberId
    memberId = ""
    return send(`leave group ${groupId}`, leaveGroup({ groupId, memberId: id })).pipe(Effect.ignore)
  })

  return { member: { join, heartbeat: beat, leave }, close: () => groups.disconnect() }
}
