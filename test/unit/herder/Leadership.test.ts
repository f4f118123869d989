/**
 * The election's fence, on a scripted GroupMember (the membership protocol itself runs against
 * real brokers in scaleOut.test.ts): duties run only while this process is chosen, and every
 * rejoin waits until they have stopped.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Ref, SubscriptionRef, TestClock } from "effect"
import { elect, Leadership, whileLeading } from "../../../src/herder/Leadership.js"
import { type GroupMember, KafkaClient, type Membership } from "../../../src/kafka/KafkaClient.js"
import { settingsOf } from "../config/helpers.js"

const SETTINGS = settingsOf(`
clusters = primary, backup
primary.bootstrap.servers = primary:9092
backup.bootstrap.servers = backup:9092
primary->backup.enabled = true
`)
const HERDER = SETTINGS.herderPairs.find((h) => h.settings.name === "primary->backup")!

/** Rounds in order: each is chosen or not and lasts `beats` heartbeats before the group rebalances. */
const scripted = (rounds: ReadonlyArray<{ chosen: boolean; beats: number }>, events: Ref.Ref<Array<string>>, active: () => Effect.Effect<number>) =>
  Effect.gen(function*() {
    let round = -1
    let beats = 0
    const member: GroupMember = {
      join: Effect.gen(function*() {
        round++
        beats = 0
        // the fence: no duty may still run when the member rejoins
        const n = yield* active()
        yield* Ref.update(events, (e) => [...e, `join ${round} with ${n} duties running`])
        const r = rounds[Math.min(round, rounds.length - 1)]!
        return { memberId: "m", generation: round + 1, chosen: r.chosen } satisfies Membership
      }),
      heartbeat: () => Effect.sync(() => (++beats >= rounds[Math.min(round, rounds.length - 1)]!.beats ? "rejoin" as const : "ok" as const)),
      leave: Ref.update(events, (e) => [...e, "leave"])
    }
    return member
  })

describe("Leadership", () => {
  it.scoped("runs the duty while chosen, stops it before every rejoin, and leaves on stop", () =>
    Effect.gen(function*() {
      const leadership = yield* Leadership.make
      const events = yield* Ref.make<Array<string>>([])
      const active = () => Effect.map(SubscriptionRef.get(leadership.state), (s) => s.active)
      const member = yield* scripted([{ chosen: true, beats: 3 }, { chosen: false, beats: 3 }, { chosen: true, beats: 1_000 }], events, active)
      // the election only asks the client for its group member
      const unused = () => Effect.die("not used by the election")
      const kafka = KafkaClient.of({ admin: unused, producer: unused, consumer: unused, groupMember: () => Effect.succeed(member) })
      const duty = Effect.acquireUseRelease(
        Ref.update(events, (e) => [...e, "duty started"]),
        () => Effect.never,
        () => Ref.update(events, (e) => [...e, "duty stopped"])
      )
      const standby = Ref.update(events, (e) => [...e, "standby"])
      const run = Effect.all([elect(HERDER, Effect.void), whileLeading(duty, standby)], { concurrency: 2, discard: true }).pipe(
        Effect.provideService(Leadership, leadership),
        Effect.provideService(KafkaClient, kafka)
      )
      const fiber = yield* Effect.fork(run)
      for (let i = 0; i < 20; i++) yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      const log = yield* Ref.get(events)
      expect(log.filter((e) => e.startsWith("join"))).toEqual([
        "join 0 with 0 duties running",
        "join 1 with 0 duties running",
        "join 2 with 0 duties running"
      ])
      // chosen, rebalance (duty stopped before join 1), not chosen, chosen again, stopped at the end, left
      const duties = log.filter((e) => e.startsWith("duty"))
      expect(duties).toEqual(["duty started", "duty stopped", "duty started", "duty stopped"])
      expect(log.indexOf("duty stopped")).toBeLessThan(log.indexOf("join 1 with 0 duties running"))
      expect(log[log.length - 1]).toBe("leave")
    }))
})
