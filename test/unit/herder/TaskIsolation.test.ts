/**
 * Tasks of a herder fail alone: the real Mm2.runWith (herders, supervisor, heartbeats, flow) on
 * the in-memory KafkaClient with injected faults, driven by the TestClock in 100 ms steps so
 * backoffs of seconds take no real time.
 *
 * Settings give two herders: primary->backup (replication of `orders` and heartbeats into
 * backup) and the heartbeat-only backup->primary (heartbeats into primary).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Logger, Option, Ref, TestClock } from "effect"
import { type FlowFailure, FlowsFailed } from "../../../src/herder/Herders.js"
import type { KafkaRecord } from "../../../src/kafka/KafkaRecord.js"
import * as Mm2 from "../../../src/Mm2.js"
import { TaskRegistry } from "../../../src/supervision/TaskRegistry.js"
import type { TaskState } from "../../../src/supervision/TaskState.js"
import { InMemoryKafka } from "../../support/InMemoryKafkaClient.js"
import { settingsOf } from "../config/helpers.js"

const SETTINGS = settingsOf(`
clusters = primary, backup
primary.bootstrap.servers = primary:9092
backup.bootstrap.servers = backup:9092
primary->backup.enabled = true
topics = orders
refresh.topics.interval.seconds = 1
backup.offset.flush.interval.ms = 100
emit.heartbeats.interval.seconds = 1
heartbeats.topic.replication.factor = 1
offset-syncs.topic.replication.factor = 1
checkpoints.topic.replication.factor = 1
replication.factor = 1
`)

const FLOW = "primary->backup"
const REMOTE = "primary.orders"
const GROUP = "effect-mm2.primary->backup"
const PARTITIONS = 2

/** Source records are identified by their value, `<partition>:<n>`. */
const produceOrders = (from: number, count: number) =>
  Effect.flatMap(InMemoryKafka, (kafka) =>
    Effect.forEach(Array.from({ length: PARTITIONS }, (_, p) => p), (partition) =>
      kafka.append("primary", {
        topic: "orders",
        partition,
        records: Array.from({ length: count }, (_, i) => ({
          key: Buffer.from(`k${from + i}`),
          value: Buffer.from(`${partition}:${from + i}`),
          headers: [],
          timestamp: "1700000000000"
        }))
      }), { discard: true }))

const ids = (records: ReadonlyArray<KafkaRecord>) => records.map((r) => r.value?.toString() ?? "")

/** What reached the target, per partition, against the source: all there, in order of first occurrence. */
const replication = Effect.gen(function*() {
  const kafka = yield* InMemoryKafka
  const source = yield* kafka.records("primary", "orders")
  const target = yield* kafka.records("backup", REMOTE)
  return source.map((records, p) => {
    const copied = ids(target[p] ?? [])
    const copies = new Map<string, number>()
    for (const id of copied) copies.set(id, (copies.get(id) ?? 0) + 1)
    return {
      expected: ids(records),
      /** target records in order, each source record at its first copy */
      firsts: [...copies.keys()],
      duplicates: copied.length - copies.size,
      mostCopies: Math.max(0, ...copies.values())
    }
  })
})

const complete = Effect.map(replication, (ps) => ps.every((p) => p.firsts.length === p.expected.length))

/** the flow's committed progress in `orders`, by partition (0 where none) */
const committedOrders = Effect.flatMap(InMemoryKafka, (kafka) =>
  Effect.map(kafka.committed("primary", GROUP), (os) =>
    Array.from({ length: PARTITIONS }, (_, p) => Number(os.find((o) => o.topic === "orders" && o.partition === p)?.offset ?? "0"))))

const stateOf = (herder: string, task: string) =>
  Effect.flatMap(TaskRegistry, (r) => Effect.map(r.all, (all): TaskState | undefined => all.find((s) => s.herder === herder && s.task === task)?.state))

const heartbeatsOn = (cluster: string) =>
  Effect.flatMap(InMemoryKafka, (kafka) => Effect.map(kafka.records(cluster, "heartbeats"), (ps) => ps.flat().length))

/**
 * Advances the TestClock in 100 ms steps until `done` holds (at most `maxSeconds` of virtual
 * time), running `each` after every step (to sample states or check an invariant). A timeout
 * names what was awaited and shows the last log lines.
 */
const until = (lines: ReadonlyArray<string>) => <E, R, R2 = never>(
  what: string,
  done: Effect.Effect<boolean, E, R>,
  options: { readonly maxSeconds?: number; readonly each?: Effect.Effect<void, never, R2> } = {}
) =>
  Effect.gen(function*() {
    const steps = (options.maxSeconds ?? 30) * 10
    for (let i = 0; i < steps; i++) {
      if (yield* done) return
      yield* TestClock.adjust("100 millis")
      if (options.each !== undefined) yield* options.each
    }
    return yield* Effect.dieMessage(
      `still waiting for ${what} after ${options.maxSeconds ?? 30} s of virtual time; last log lines:\n${lines.slice(-10).join("\n")}`
    )
  })

/**
 * Runs Mm2.runWith on SETTINGS in the background with a TaskRegistry the test reads; log lines
 * are kept (quiet test output) for assertions.
 */
const startMm2 = Effect.gen(function*() {
  const registry = yield* TaskRegistry.make
  const stopped = yield* Ref.make<ReadonlyArray<FlowFailure>>([])
  const lines: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
  })
  const fiber = yield* Mm2.runWith(SETTINGS, (f) => Ref.update(stopped, (fs) => [...fs, f])).pipe(
    Effect.provideService(TaskRegistry, registry),
    Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
    Effect.forkScoped
  )
  return { fiber, registry, lines, until: until(lines), stopped: Ref.get(stopped) }
})

/**
 * A fresh in-memory Kafka with source topic `orders` (PARTITIONS partitions), startMm2 on it,
 * then `body`, with the TaskRegistry runWith reports into.
 */
const withMm2 = <A, E, R>(body: (mm2: Effect.Effect.Success<typeof startMm2>) => Effect.Effect<A, E, R | TaskRegistry>) =>
  Effect.gen(function*() {
    yield* Effect.flatMap(InMemoryKafka, (kafka) => kafka.createTopic("primary", "orders", PARTITIONS))
    const mm2 = yield* startMm2
    return yield* body(mm2).pipe(Effect.provideService(TaskRegistry, mm2.registry))
  }).pipe(Effect.provide(InMemoryKafka.layer))

describe("task isolation (in-memory Kafka)", () => {
  it.scoped("a fatal error in the heartbeats task stops only that task; replication goes on", () =>
    withMm2((mm2) =>
      Effect.gen(function*() {
        const kafka = yield* InMemoryKafka
        const denied = yield* kafka.faults.inject({
          cluster: "backup",
          operation: "produce",
          topic: "heartbeats",
          reason: "Authorization",
          retriable: false
        })
        yield* produceOrders(0, 20)
        yield* mm2.until("the heartbeats task to stop", Effect.map(stateOf(FLOW, "heartbeats"), (s) => s?._tag === "Stopped"))

        expect(yield* stateOf(FLOW, "heartbeats")).toMatchObject({
          _tag: "Stopped",
          fatal: true,
          reason: "produce on cluster 'backup' (topic heartbeats) failed: injected fault (Authorization)"
        })
        expect(yield* denied.hits).toBe(1)
        expect(mm2.lines.filter((l) => l.startsWith("ERROR"))).toEqual([
          "ERROR heartbeats of primary->backup stopped: produce on cluster 'backup' (topic heartbeats) failed: injected fault (Authorization)"
        ])

        // records produced after the stop keep arriving
        yield* produceOrders(20, 30)
        yield* mm2.until("all 50 records per partition on the target", complete)
        for (const p of yield* replication) expect(p.firsts).toEqual(p.expected)
        expect(yield* stateOf(FLOW, "replication")).toMatchObject({ _tag: "Running" })
        // the other herder's heartbeats are unaffected
        const primaryBeats = yield* heartbeatsOn("primary")
        yield* mm2.until("more heartbeats on primary", Effect.map(heartbeatsOn("primary"), (n) => n > primaryBeats))
        expect(yield* stateOf("backup->primary", "heartbeats")).toMatchObject({ _tag: "Running" })
        // never restarted, never wrote a heartbeat into backup
        expect(yield* denied.hits).toBe(1)
        expect(yield* heartbeatsOn("backup")).toBe(0)
        expect(Option.isNone(yield* Fiber.poll(mm2.fiber))).toBe(true)
      })))

  // Fails until src/herder/HeartbeatTask.ts truncates Clock.currentTimeMillis before BigInt(now):
  // the TestClock reads fractional after the supervisor's jittered backoff, and every beat of
  // the restarted task dies with a RangeError (reported to the lead, not worked around here).
  it.scoped("a transient error in the heartbeats task restarts it (count visible) until it runs again; replication goes on", () =>
    withMm2((mm2) =>
      Effect.gen(function*() {
        const kafka = yield* InMemoryKafka
        const flaky = yield* kafka.faults.inject({
          cluster: "backup",
          operation: "produce",
          topic: "heartbeats",
          reason: "Transient",
          retriable: true,
          times: 2
        })
        const states: Array<string> = []
        const sample = Effect.map(stateOf(FLOW, "heartbeats"), (s) => {
          const line = s === undefined ? "none" : s._tag === "Restarting" ? `Restarting ${s.restarts}: ${s.lastError}` : s._tag
          if (states.at(-1) !== line) states.push(line)
        })
        yield* produceOrders(0, 10)
        yield* mm2.until("a heartbeat on backup", Effect.map(heartbeatsOn("backup"), (n) => n > 0), { each: sample, maxSeconds: 15 })
        yield* sample
        const error = "produce on cluster 'backup' (topic heartbeats) failed: injected fault (Transient, retriable)"
        expect(states).toEqual(["Starting", `Restarting 1: ${error}`, `Restarting 2: ${error}`, "Running"])
        expect(yield* flaky.hits).toBe(2)
        expect(mm2.lines.filter((l) => l.includes("heartbeats of primary->backup is running again"))).toHaveLength(1)
        // replication went on meanwhile
        yield* produceOrders(10, 10)
        yield* mm2.until("all 20 records per partition on the target", complete)
        for (const p of yield* replication) expect(p.firsts).toEqual(p.expected)
        expect(yield* stateOf(FLOW, "replication")).toMatchObject({ _tag: "Running" })
      })))

  it.scoped("produce failures to the remote topic do not disturb heartbeats, and replication resumes with nothing lost", () =>
    withMm2((mm2) =>
      Effect.gen(function*() {
        const kafka = yield* InMemoryKafka
        yield* produceOrders(0, 10)
        yield* mm2.until("the first records on the target", complete)
        yield* mm2.until("heartbeats running", Effect.map(stateOf(FLOW, "heartbeats"), (s) => s?._tag === "Running"))

        const refused = yield* kafka.faults.inject({
          cluster: "backup",
          operation: "produce",
          topic: REMOTE,
          reason: "Transient",
          retriable: true,
          times: 4
        })
        const heartbeatStates = new Set<string>()
        const sample = Effect.map(stateOf(FLOW, "heartbeats"), (s) => {
          heartbeatStates.add(s?._tag ?? "none")
        })
        const beatsBefore = yield* heartbeatsOn("backup")
        yield* produceOrders(10, 600)
        yield* mm2.until("every refused produce to be used up", Effect.map(refused.hits, (n) => n === 4), { each: sample })
        // heartbeats were written while replication was failing
        expect(yield* heartbeatsOn("backup")).toBeGreaterThan(beatsBefore)
        yield* mm2.until("all 610 records per partition on the target", complete, { each: sample })

        for (const p of yield* replication) {
          expect(p.firsts).toEqual(p.expected)
          // a refused send wrote nothing, so nothing was written twice
          expect(p.duplicates).toBe(0)
        }
        expect([...heartbeatStates]).toEqual(["Running"])
        expect(yield* stateOf(FLOW, "replication")).toMatchObject({ _tag: "Running" })
      })))

  it.scoped("a consumer crash with batches in flight restarts reading without stopping heartbeats, and nothing is lost", () =>
    withMm2((mm2) =>
      Effect.gen(function*() {
        const kafka = yield* InMemoryKafka
        yield* produceOrders(0, 300)
        yield* mm2.until("the first records on the target", complete)
        yield* mm2.until("heartbeats running", Effect.map(stateOf(FLOW, "heartbeats"), (s) => s?._tag === "Running"))
        const heartbeatStates = new Set<string>()
        const sample = Effect.map(stateOf(FLOW, "heartbeats"), (s) => {
          heartbeatStates.add(s?._tag ?? "none")
        })

        // the writer holds fetched batches (its sends are refused) when the consumer crashes
        const stalled = yield* kafka.faults.inject({ cluster: "backup", operation: "produce", topic: REMOTE, reason: "Transient", retriable: true })
        yield* produceOrders(300, 900)
        yield* mm2.until("the writer to hold new batches", Effect.map(stalled.hits, (n) => n >= 1), { each: sample })
        const crash = yield* kafka.faults.inject({
          cluster: "primary",
          operation: "consume",
          topic: "orders",
          reason: "Unreachable",
          retriable: true,
          times: 1
        })
        yield* mm2.until("the crash", Effect.map(crash.hits, (n) => n === 1), { each: sample })
        yield* TestClock.adjust("1 second")
        yield* sample
        yield* stalled.clear
        // records produced after the crash need a new session
        yield* produceOrders(1200, 100)
        yield* mm2.until("all 1300 records per partition on the target", complete, { each: sample })

        // at-least-once: duplicates are allowed, gaps and reordering are not; one crash re-reads
        // at most once what was not committed yet
        for (const p of yield* replication) {
          expect(p.firsts).toEqual(p.expected)
          expect(p.mostCopies).toBeLessThanOrEqual(2)
        }
        expect([...heartbeatStates]).toEqual(["Running"])
        expect(yield* stateOf(FLOW, "replication")).toMatchObject({ _tag: "Running" })
        // the restarted session goes on committing
        yield* mm2.until("progress committed up to the end", Effect.map(committedOrders, (os) => os.join() === "1300,1300"), { each: sample })
      })))

  it.scoped("when the only replication task stops fatally, runWith fails with FlowsFailed naming the flow", () =>
    withMm2((mm2) =>
      Effect.gen(function*() {
        const kafka = yield* InMemoryKafka
        yield* kafka.faults.inject({
          cluster: "backup",
          operation: "create topic",
          topic: REMOTE,
          reason: "InvalidRequest",
          retriable: false
        })
        yield* mm2.until("runWith to end", Effect.map(Fiber.poll(mm2.fiber), Option.isSome), { maxSeconds: 10 })
        const exit = yield* Fiber.await(mm2.fiber)
        const reason = `create topic on cluster 'backup' (topic ${REMOTE}) failed: injected fault (InvalidRequest)`
        expect(exit).toEqual(Exit.fail(new FlowsFailed({ failures: [{ flow: FLOW, message: reason }] })))
        expect(yield* mm2.stopped).toEqual([{ flow: FLOW, message: reason }])
        expect(yield* stateOf(FLOW, "replication")).toMatchObject({ _tag: "Stopped", fatal: true, reason })
        // the heartbeat tasks were running (not stopped by the fault) until the process ended
        expect(yield* kafka.topics("backup")).toContain("heartbeats")
        for (const herder of [FLOW, "backup->primary"]) {
          expect(yield* stateOf(herder, "heartbeats")).toMatchObject({ _tag: "Stopped", fatal: false, reason: "stopped with the process" })
        }
      })))

  it.scoped("progress is committed only for records the target acknowledged", () =>
    withMm2((mm2) =>
      Effect.gen(function*() {
        const kafka = yield* InMemoryKafka
        /** per partition: the committed offset, and how many source records (from offset 0) all reached the target */
        const sides = Effect.gen(function*() {
          const committed = yield* committedOrders
          const target = yield* kafka.records("backup", REMOTE)
          return Array.from({ length: PARTITIONS }, (_, p) => {
            const copied = new Set(ids(target[p] ?? []))
            let prefix = 0
            while (copied.has(`${p}:${prefix}`)) prefix++
            return { committed: committed[p] ?? 0, acknowledged: prefix }
          })
        })
        const invariant = Effect.map(sides, (ps) => {
          for (const p of ps) expect(p.committed).toBeLessThanOrEqual(p.acknowledged)
        })

        yield* produceOrders(0, 50)
        yield* mm2.until("the first records committed", Effect.map(sides, (ps) => ps.every((p) => p.committed === 50)), { each: invariant })

        const refused = yield* kafka.faults.inject({
          cluster: "backup",
          operation: "produce",
          topic: REMOTE,
          reason: "Unreachable",
          retriable: true
        })
        yield* produceOrders(50, 100)
        // well past several flush intervals (100 ms) while every send is refused
        yield* mm2.until("5 refused sends (3 s of backoff)", Effect.map(refused.hits, (n) => n >= 5), { each: invariant })
        yield* TestClock.adjust("1 second")
        yield* invariant
        expect((yield* sides).map((p) => p.committed)).toEqual([50, 50])

        yield* refused.clear
        yield* mm2.until("everything committed", Effect.map(sides, (ps) => ps.every((p) => p.committed === 150)), { each: invariant })
        expect((yield* sides).map((p) => p.acknowledged)).toEqual([150, 150])
      })))
})
