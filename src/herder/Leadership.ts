/**
 * Which process runs a flow's once-per-flow duties: remote topic creation and growth, topic-config
 * and ACL sync, checkpoints, group offset sync and heartbeats. Several processes started with the
 * same mm2.properties share the flow's partitions through its progress group; these duties must
 * run on exactly one of them, and move on when it dies.
 *
 * The choice is Kafka's own group membership: each process joins the group
 * `effect-mm2.<source>-><target>.leader` on the target cluster (a membership group of our own
 * protocol type, owning no partitions, see KafkaJsMembership.ts); the group's leader chooses
 * itself. A member gives its duties up (and waits until they have stopped) before it rejoins any
 * round, so the next holder, chosen in a round that only completes once every live member
 * rejoined, never overlaps with it. A member that dies holds nothing; the others rejoin once the
 * coordinator expires its session (SESSION_TIMEOUT) and one of them takes over.
 *
 * Outside a herder (a flow run directly, in a test or an embedding) the default is a process that
 * always leads.
 */
import { Clock, Context, Duration, Effect, Option, Stream, SubscriptionRef } from "effect"
import type { HerderSettings } from "../config/Mm2Config.js"
import { type FlowConfigError, FlowContext } from "../flow/FlowContext.js"
import { KafkaClient, type Membership } from "../kafka/KafkaClient.js"
import type { KafkaError } from "../kafka/KafkaError.js"
import { bounded } from "../supervision/Bounded.js"

export interface LeadershipState {
  /** this process holds the flow's once-per-flow duties now */
  readonly leading: boolean
  /** a first round has decided (until then a follower does not know whether to wait for a leader) */
  readonly decided: boolean
  /** duties running now: giving the duties up waits until none is */
  readonly active: number
}

export interface LeadershipShape {
  readonly state: SubscriptionRef.SubscriptionRef<LeadershipState>
}

/** The membership group's session: a dead holder's duties move on within about this long. */
export const SESSION_TIMEOUT = Duration.seconds(10)
/** How long a round may wait for every member to rejoin (each first stops its duties). */
export const REBALANCE_TIMEOUT = Duration.seconds(20)
const HEARTBEAT_INTERVAL = Duration.seconds(1)
/** How long giving the duties up waits for them to stop, before rejoining regardless. */
const RELEASE_TIMEOUT = Duration.seconds(8)
/** How long a replication flow waits for the first round before it goes on as a follower. */
const FIRST_ROUND_TIMEOUT = Duration.seconds(30)

const PROTOCOL_TYPE = "effect-mm2"

export const leaderGroupId = (progressGroupId: string): string => `${progressGroupId}.leader`

export class Leadership extends Context.Reference<Leadership>()("effect-mm2/Leadership", {
  defaultValue: (): LeadershipShape => ({
    state: SubscriptionRef.make<LeadershipState>({ leading: true, decided: true, active: 0 }).pipe(Effect.runSync)
  })
}) {
  /** A fresh state: nobody leads until the election says so. */
  static readonly make: Effect.Effect<LeadershipShape> = Effect.map(
    SubscriptionRef.make<LeadershipState>({ leading: false, decided: false, active: 0 }),
    (state) => ({ state })
  )
}

/** Whether this process holds the duties now. */
export const isLeading: Effect.Effect<boolean> = Effect.flatMap(Leadership, (l) => Effect.map(SubscriptionRef.get(l.state), (s) => s.leading))

/** Waits until a first round decided (at most FIRST_ROUND_TIMEOUT). */
export const awaitDecided: Effect.Effect<void> = Effect.flatMap(Leadership, (l) =>
  l.state.changes.pipe(
    Stream.takeUntil((s) => s.decided),
    Stream.runDrain,
    (wait) => bounded(wait, FIRST_ROUND_TIMEOUT),
    Effect.asVoid
  ))

/**
 * Runs `duty` whenever this process holds the duties, interrupting it when it no longer does;
 * runs `standby` (once per change) while it does not. A duty only starts while the state says
 * leading, counted in `active`, so giving up can wait until every duty has stopped.
 */
export const whileLeading = <A, E, R>(duty: Effect.Effect<A, E, R>, standby: Effect.Effect<void>): Effect.Effect<void, E, R> =>
  Effect.flatMap(Leadership, ({ state }) => {
    const hold = Effect.acquireUseRelease(
      SubscriptionRef.modify(state, (s): [boolean, LeadershipState] => (s.leading ? [true, { ...s, active: s.active + 1 }] : [false, s])),
      (holding) => (holding ? Effect.asVoid(duty) : standby),
      (holding) => (holding ? SubscriptionRef.update(state, (s) => ({ ...s, active: s.active - 1 })) : Effect.void)
    )
    return state.changes.pipe(
      Stream.map((s) => s.leading),
      Stream.changes,
      Stream.flatMap((leading) => Stream.fromEffect(leading ? hold : standby), { switch: true }),
      Stream.runDrain
    )
  })

/**
 * The election of one herder, forever: join, hold or stand by, heartbeat; give the duties up
 * before every rejoin, and when the coordinator has not answered for a session. Fails (and the
 * supervisor restarts it) when the cluster refuses or cannot be reached; the duties stop meanwhile.
 */
export const elect = (h: HerderSettings, healthy: Effect.Effect<void>): Effect.Effect<never, KafkaError | FlowConfigError, KafkaClient> =>
  Effect.gen(function*() {
    const { state } = yield* Leadership
    const ctx = yield* FlowContext.make(h.settings)
    const kafka = yield* KafkaClient
    const flow = h.settings.name
    const groupId = leaderGroupId(ctx.progressGroupId)
    const member = yield* kafka.groupMember(ctx.targetAdmin, {
      groupId,
      protocolType: PROTOCOL_TYPE,
      sessionTimeoutMs: Duration.toMillis(SESSION_TIMEOUT),
      rebalanceTimeoutMs: Duration.toMillis(REBALANCE_TIMEOUT)
    })

    /** Stops holding the duties and waits until every one of them has stopped. */
    const release = (why: string) =>
      Effect.gen(function*() {
        const was = yield* SubscriptionRef.modify(state, (s): [boolean, LeadershipState] => [s.leading, { ...s, leading: false }])
        const stopped = yield* bounded(state.changes.pipe(Stream.takeUntil((s) => s.active === 0), Stream.runDrain), RELEASE_TIMEOUT)
        if (Option.isNone(stopped)) {
          yield* Effect.logWarning(`${flow}: once-per-flow duties did not stop within ${Duration.format(RELEASE_TIMEOUT)} (${why}); rejoining regardless`)
        }
        if (was) yield* Effect.logInfo(`${flow}: this process no longer runs the once-per-flow duties (${why})`)
      })

    // leaving lets the others take over at once instead of after the session timeout
    yield* Effect.addFinalizer(() => Effect.zipRight(release("stopping"), member.leave))

    const holdUntilRejoin = (m: Membership) =>
      Effect.gen(function*() {
        const was = yield* SubscriptionRef.modify(state, (s): [boolean, LeadershipState] => [s.leading, { ...s, leading: m.chosen, decided: true }])
        if (m.chosen && !was) {
          yield* Effect.logInfo(`${flow}: this process now runs the once-per-flow duties (member ${m.memberId}, generation ${m.generation} of group ${groupId})`)
        } else if (!m.chosen) {
          yield* Effect.logInfo(`${flow}: another process runs the once-per-flow duties; this one stands by (generation ${m.generation} of group ${groupId})`)
        }
        yield* healthy
        let lastAnswer = yield* Clock.currentTimeMillis
        for (;;) {
          yield* Effect.sleep(HEARTBEAT_INTERVAL)
          const answer = yield* member.heartbeat(m).pipe(Effect.timeout(HEARTBEAT_INTERVAL.pipe(Duration.times(3))), Effect.either)
          const now = yield* Clock.currentTimeMillis
          if (answer._tag === "Right") {
            if (answer.right === "rejoin") return "the group is choosing again"
            lastAnswer = now
          } else if (now - lastAnswer > Duration.toMillis(SESSION_TIMEOUT) * 0.8) {
            // the coordinator may have expired our session and chosen another member already
            return `no answer from the coordinator of group ${groupId} for ${Math.round((now - lastAnswer) / 1000)} s`
          }
        }
      })

    const round = Effect.gen(function*() {
      const m = yield* member.join
      const why = yield* holdUntilRejoin(m)
      yield* release(why)
    })
    // any failure gives the duties up first: the supervisor restarts the election
    return yield* Effect.forever(round).pipe(Effect.onError(() => release("the election failed")))
  }).pipe(Effect.scoped)
