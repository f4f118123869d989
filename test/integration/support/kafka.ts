/**
 * Helpers of the replication integration tests. Every Kafka access goes through the project's
 * own KafkaClient (kafkajs) against the REAL brokers started by globalSetup; nothing is faked.
 *
 * Isolation: the two brokers are shared by every test file (two files may run at once), so each
 * test uses its own cluster aliases (they change the remote-topic prefix and the progress group)
 * and its own topic prefix; see `uniqueId` and `flowProps`.
 */
import { randomBytes } from "node:crypto"
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Cause, Deferred, Duration, Effect, Either, Exit, Fiber, Layer, Logger, LogLevel, Option, Schedule, type Scope } from "effect"
import type { FlowsFailed } from "../../../src/herder/Herders.js"
import * as Mm2 from "../../../src/Mm2.js"
import { TaskRegistry } from "../../../src/supervision/TaskRegistry.js"
import type { TaskStatus } from "../../../src/supervision/TaskState.js"
import * as Mm2Config from "../../../src/config/Mm2Config.js"
import { type Compression, type ConnectionSettings, connectionSettings, producerSettings } from "../../../src/kafka/ClientSettings.js"
import { type KafkaAdmin, KafkaClient } from "../../../src/kafka/KafkaClient.js"
import { KafkaError } from "../../../src/kafka/KafkaError.js"
import * as KafkaJsClient from "../../../src/kafka/KafkaJsClient.js"
import type { KafkaRecord, PartitionWrite } from "../../../src/kafka/KafkaRecord.js"

/** A record as written: what the replicator must copy byte for byte. */
export type OutRecord = PartitionWrite["records"][number]

/** Records of one topic as read back, index = partition, each in offset order. */
export type ByPartition = ReadonlyArray<ReadonlyArray<KafkaRecord>>

/** Short, lowercase, alphanumeric, unique per call (usable in aliases and topic names). */
let counter = 0
export const uniqueId = (): string =>
  `${Date.now().toString(36).slice(-4)}${randomBytes(3).toString("hex")}${(counter++).toString(36)}`

/** A fresh consumer group id (never reuse one: offsets are never committed, but joins cost time). */
export const freshGroup = (what: string): string => `it-${what}-${uniqueId()}`

// ---------------------------------------------------------------------------------------------
// clients
// ---------------------------------------------------------------------------------------------

const connection = (bs: string, role: string) =>
  Effect.orDie(connectionSettings("it", new Map([["bootstrap.servers", bs]]), `it-${role}`))

/** An admin client that lives as long as the caller's scope. */
export const adminClient = (bs: string): Effect.Effect<KafkaAdmin, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    return yield* kafka.admin(yield* connection(bs, "admin"))
  }).pipe(Effect.provide(KafkaJsClient.layer))

/** Runs `f` with a short-lived admin client. */
export const withAdmin = <A, E>(bs: string, f: (admin: KafkaAdmin) => Effect.Effect<A, E>): Effect.Effect<A, Error | E> =>
  Effect.scoped(Effect.flatMap(adminClient(bs), f))

export const createTopic = (
  bs: string,
  name: string,
  partitions: number,
  configs: Readonly<Record<string, string>> = {}
): Effect.Effect<void, Error> =>
  withAdmin(bs, (admin) =>
    admin.createTopics([{
      name,
      partitions,
      replicationFactor: -1,
      configs: Object.entries(configs).map(([name, value]) => ({ name, value }))
    }])).pipe(
      // created, but its leaders were not known within the client's own retries (a busy broker,
      // seen as "This server does not host this topic-partition"): wait for the topic instead
      Effect.catchIf((e) => e instanceof KafkaError && e.retriable, (e) =>
        eventually(
          `${name} on ${bs} with ${partitions} partitions after: ${e.message}`,
          partitionCount(bs, name).pipe(Effect.orElseSucceed(() => undefined)),
          (n) => n === partitions,
          { timeout: "60 seconds", interval: "500 millis" }
        ).pipe(Effect.as([name]))),
      Effect.flatMap((created) =>
        created.includes(name) ? Effect.void : Effect.fail(new Error(`createTopic: ${name} already exists on ${bs}`))
      )
    )

export const createPartitions = (bs: string, topic: string, count: number): Effect.Effect<void, Error> =>
  withAdmin(bs, (admin) => admin.createPartitions([{ topic, count }]))

export const listTopics = (bs: string): Effect.Effect<ReadonlyArray<string>, Error> =>
  withAdmin(bs, (admin) => admin.listTopics)

/** Partition count of `topic`, or undefined when it does not exist. */
export const partitionCount = (bs: string, topic: string): Effect.Effect<number | undefined, Error> =>
  withAdmin(bs, (admin) =>
    Effect.gen(function*() {
      const names = yield* admin.listTopics
      if (!names.includes(topic)) return undefined
      const [d] = yield* admin.describeTopics([topic])
      return d?.partitions
    }))

/** Log-end offset of every partition of `topic`, index = partition. */
export const endOffsets = (bs: string, topic: string): Effect.Effect<ReadonlyArray<number>, Error> =>
  withAdmin(bs, (admin) => admin.fetchTopicOffsets(topic)).pipe(Effect.map(toEndOffsets))

export const toEndOffsets = (ps: ReadonlyArray<{ readonly partition: number; readonly high: string }>): Array<number> => {
  const out: Array<number> = []
  for (const p of ps) out[p.partition] = Number(p.high)
  return Array.from(out, (x) => x ?? 0)
}

export const sum = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0)

/** Committed offsets of `groupId` for `topic`, index = partition; -1 = nothing committed. */
export const groupOffsets = (bs: string, groupId: string, topic: string): Effect.Effect<ReadonlyArray<number>, Error> =>
  withAdmin(bs, (admin) => admin.fetchGroupOffsets(groupId, [topic])).pipe(
    Effect.map((ps) => {
      const out: Array<number> = []
      for (const p of ps) if (p.topic === topic) out[p.partition] = Number(p.offset)
      return Array.from(out, (x) => x ?? -1)
    })
  )

/** The consumer group in which flow `source->target` commits its progress, on the SOURCE cluster. */
export const progressGroup = (source: string, target: string): string => `effect-mm2.${source}->${target}`

// ---------------------------------------------------------------------------------------------
// producing and reading
// ---------------------------------------------------------------------------------------------

const SEND_CHUNK = 2_000

/** Writes each write's records to its explicit partition, in order, `SEND_CHUNK` records per request. */
export const produceWrites = (
  bs: string,
  writes: ReadonlyArray<PartitionWrite>,
  compression: Compression = "none"
): Effect.Effect<void, Error> =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    const settings = yield* Effect.orDie(producerSettings("it", new Map([["compression.type", compression]])))
    const producer = yield* kafka.producer(yield* connection(bs, "producer"), settings)
    for (const w of writes) {
      for (let i = 0; i < w.records.length; i += SEND_CHUNK) {
        const acks = yield* producer.send([{ topic: w.topic, partition: w.partition, records: w.records.slice(i, i + SEND_CHUNK) }])
        // kafkajs silently skips partitions its metadata does not know yet (e.g. just added)
        if (!acks.some((a) => a.topic === w.topic && a.partition === w.partition)) {
          return yield* Effect.fail(new Error(`produce: no acknowledgement for ${w.topic}[${w.partition}] on ${bs}`))
        }
      }
    }
  }).pipe(Effect.scoped, Effect.provide(KafkaJsClient.layer))

export const produce = (
  bs: string,
  topic: string,
  partition: number,
  records: ReadonlyArray<OutRecord>,
  compression: Compression = "none"
): Effect.Effect<void, Error> => produceWrites(bs, [{ topic, partition, records }], compression)

/** Writes `[partition, record]` pairs, keeping their order within each partition. */
export const produceToPartitions = (
  bs: string,
  topic: string,
  records: ReadonlyArray<readonly [number, OutRecord]>,
  compression: Compression = "none"
): Effect.Effect<void, Error> => {
  const byPartition = new Map<number, Array<OutRecord>>()
  for (const [p, r] of records) {
    const list = byPartition.get(p)
    if (list === undefined) byPartition.set(p, [r])
    else list.push(r)
  }
  return produceWrites(bs, [...byPartition].map(([partition, rs]) => ({ topic, partition, records: rs })), compression)
}

/**
 * Polls `check` until `done` holds; on timeout fails with `what` and the last value seen.
 * Transient Kafka errors (e.g. "not the leader" right after a topic was created) count as
 * "not yet"; any other failure of `check` fails at once.
 * Not a timing assertion: the timeout only turns a hang into a readable failure.
 */
export const eventually = <A, E, R>(
  what: string | (() => string),
  check: Effect.Effect<A, E, R>,
  done: (a: A) => boolean,
  options: { readonly timeout?: Duration.DurationInput; readonly interval?: Duration.DurationInput } = {}
): Effect.Effect<A, E | Error, R> =>
  Effect.gen(function*() {
    const timeout = Duration.decode(options.timeout ?? "90 seconds")
    const interval = options.interval ?? "250 millis"
    const deadline = Date.now() + Duration.toMillis(timeout)
    let last = "nothing yet"
    for (;;) {
      const result = yield* Effect.either(check)
      if (Either.isRight(result)) {
        if (done(result.right)) return result.right
        last = show(result.right)
      } else if (result.left instanceof KafkaError && result.left.retriable) {
        last = `error: ${result.left.message}`
      } else {
        return yield* Effect.fail(result.left)
      }
      if (Date.now() > deadline) {
        const label = typeof what === "string" ? what : what()
        return yield* Effect.fail(
          new Error(`timed out after ${Duration.format(timeout)} waiting for ${label}; last value: ${last}`)
        )
      }
      yield* Effect.sleep(interval)
    }
  })

const show = (a: unknown): string => {
  try {
    return JSON.stringify(a, (_k, v) => (typeof v === "bigint" ? v.toString() : v))
  } catch {
    return String(a)
  }
}

/** Waits until `topic` exists on `bs`. */
export const waitForTopic = (bs: string, topic: string, timeout: Duration.DurationInput = "60 seconds") =>
  eventually(`topic ${topic} to exist on ${bs}`, listTopics(bs), (ts) => ts.includes(topic), { timeout })

/** Waits until the log-end offsets of `topic` add up to at least `count`; returns them. */
export const waitForCount = (bs: string, topic: string, count: number, timeout: Duration.DurationInput = "90 seconds") =>
  Effect.zipRight(
    waitForTopic(bs, topic, timeout),
    eventually(`${count} records in ${topic} on ${bs}`, endOffsets(bs, topic), (os) => sum(os) >= count, { timeout })
  )

/**
 * Consumes `topic` from the beginning with a fresh group until `expectedCount` records arrived
 * (waiting for the topic to exist first). Fails on timeout saying how many arrived, per partition.
 */
export const readAll = (
  bs: string,
  topic: string,
  expectedCount: number,
  timeout: Duration.DurationInput = "90 seconds"
): Effect.Effect<ByPartition, Error> =>
  Effect.gen(function*() {
    yield* waitForTopic(bs, topic, timeout)
    return yield* readAllWith(yield* connection(bs, "reader"), topic, expectedCount, timeout)
  })

/** `readAll` through any connection settings (e.g. a secured cluster's); the topic must exist. */
export const readAllWith = (
  conn: ConnectionSettings,
  topic: string,
  expectedCount: number,
  timeout: Duration.DurationInput = "90 seconds"
): Effect.Effect<ByPartition, Error> =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    const admin = yield* kafka.admin(conn)
    const partitions = (yield* admin.describeTopics([topic]))[0]?.partitions ?? 0
    // keyed by offset: a batch delivered twice (e.g. after a rejoin) must not count twice
    const byPartition = new Map<number, Map<string, KafkaRecord>>()
    let count = 0
    const done = yield* Deferred.make<void>()
    if (expectedCount <= 0) yield* Deferred.succeed(done, undefined)
    // one consumer session until done; a crash (e.g. "the coordinator is loading" right after the
    // brokers started) starts a new session, keeping what was read (deduplicated by offset)
    const session = Effect.gen(function*() {
      const consumer = yield* kafka.consumer(conn, {
        groupId: freshGroup("read"),
        topics: [topic],
        fromBeginning: true,
        partitionsConsumedConcurrently: 4
      })
      yield* consumer.start((batch) =>
        Effect.sync(() => {
          let m = byPartition.get(batch.partition)
          if (m === undefined) byPartition.set(batch.partition, m = new Map())
          for (const r of batch.records) {
            if (!m.has(r.offset)) {
              m.set(r.offset, r)
              count++
            }
          }
          if (count >= expectedCount) Deferred.unsafeDone(done, Exit.void)
        })
      )
      yield* Effect.raceFirst(Deferred.await(done), consumer.crashed)
      yield* consumer.stop
    }).pipe(Effect.scoped)
    const perPartition = () =>
      [...byPartition].sort(([a], [b]) => a - b).map(([p, m]) => `${p}=${m.size}`).join(", ") || "none"
    const timeoutDuration = Duration.decode(timeout)
    yield* session.pipe(
      Effect.tapError((e) => Effect.logWarning(`readAll(${topic}): consumer failed, starting a new one: ${e.message}`)),
      Effect.retry({ schedule: Schedule.spaced("500 millis"), while: (e) => e.retriable }),
      Effect.timeoutFail({
        duration: timeoutDuration,
        onTimeout: () =>
          new Error(
            `readAll(${topic} on ${conn.brokers.join(",")}): expected ${expectedCount} records within ${Duration.format(timeoutDuration)}, ` +
              `but only ${count} arrived (per partition: ${perPartition()})`
          )
      })
    )
    const maxPartition = Math.max(partitions, ...[...byPartition.keys()].map((p) => p + 1))
    return Array.from({ length: maxPartition }, (_, p) =>
      [...(byPartition.get(p)?.values() ?? [])].sort((a, b) => {
        const d = BigInt(a.offset) - BigInt(b.offset)
        return d < 0n ? -1 : d > 0n ? 1 : 0
      }))
  }).pipe(Effect.scoped, Effect.provide(KafkaJsClient.layer))

/** Waits until `topic` holds exactly its current log-end total (at least `min`), then reads it all. */
export const readEverything = (bs: string, topic: string, min: number, timeout: Duration.DurationInput = "90 seconds") =>
  Effect.gen(function*() {
    const ends = yield* waitForCount(bs, topic, min, timeout)
    return yield* readAll(bs, topic, sum(ends), timeout)
  })

// ---------------------------------------------------------------------------------------------
// the replicator, in process
// ---------------------------------------------------------------------------------------------

/** `MM2_IT_LOG=info|debug|warning|...` shows the in-process replicators' logs (default: warnings). */
const replicatorLogLevel = (): LogLevel.LogLevel => {
  const wanted = (process.env["MM2_IT_LOG"] ?? "warning").toLowerCase()
  return LogLevel.allLevels.find((l) => l.label.toLowerCase() === wanted) ?? LogLevel.Warning
}

/** The minimal single-flow configuration tests build on (short refresh and flush intervals). */
export const flowProps = (options: {
  readonly source: string
  readonly target: string
  readonly sourceBootstrap: string
  readonly targetBootstrap: string
  /** the flow's `topics` regex list, e.g. `${prefix}.*` */
  readonly topics: string
  readonly extra?: Readonly<Record<string, string>>
}): Record<string, string> => {
  const { source, target } = options
  return {
    "clusters": `${source}, ${target}`,
    [`${source}.bootstrap.servers`]: options.sourceBootstrap,
    [`${target}.bootstrap.servers`]: options.targetBootstrap,
    [`${source}->${target}.enabled`]: "true",
    [`${source}->${target}.topics`]: options.topics,
    "replication.factor": "-1",
    // the test brokers are single nodes; MM2's default of 3 would stop the heartbeat task
    "heartbeats.topic.replication.factor": "1",
    "offset-syncs.topic.replication.factor": "1",
    "checkpoints.topic.replication.factor": "1",
    // Every test names its clusters anew, so loop detection cannot tell that two aliases are one
    // cluster: replicating heartbeat topics (which bypass the filter) would chain them across
    // tests. heartbeats.test.ts turns it on.
    "heartbeats.replication.enabled": "false",
    "refresh.topics.interval.seconds": "1",
    "refresh.groups.interval.seconds": "1",
    [`${target}.offset.flush.interval.ms`]: "500",
    "admin.timeout.ms": "15000",
    ...options.extra
  }
}

/** `Mm2Config.resolve` of a properties record; an invalid configuration fails the test with its message. */
export const resolveProps = (props: Readonly<Record<string, string>>, file = "integration-test.properties") => {
  const resolved = Mm2Config.resolve(new Map(Object.entries(props)), { file })
  return Either.isLeft(resolved)
    ? Effect.fail(new Error(`invalid replicator configuration:\n${resolved.left.message}`))
    : Effect.succeed(resolved.right)
}

export interface LogEntry {
  /** "INFO", "WARN", "ERROR", ... */
  readonly level: string
  readonly message: string
}

export interface Replicator {
  readonly settings: Mm2Config.Mm2Settings
  /** what the replicator logged so far at the configured level (MM2_IT_LOG, default warnings) */
  readonly logs: () => ReadonlyArray<LogEntry>
  /** every task's status (Replicator.tasks) */
  readonly tasks: Effect.Effect<ReadonlyArray<TaskStatus>>
  readonly fiber: Fiber.RuntimeFiber<void, FlowsFailed>
  /** fails if the replicator has stopped (it must run until the test scope closes) */
  readonly expectRunning: Effect.Effect<void, Error>
  /**
   * Interrupts the replicator (what SIGTERM does: stop fetching, write what was fetched, commit)
   * and waits for it to finish; fails if it has not finished within `timeout` (default 75 s,
   * above the replicator's own 30 s stop + 30 s drain + disconnect bounds).
   */
  readonly stop: (timeout?: Duration.DurationInput) => Effect.Effect<void, Error>
}

/** How long a test-scope finalizer waits for a replicator to stop before giving up on it. */
const FINALIZER_STOP_TIMEOUT = Duration.seconds(75)

const stopFiber = <A, E>(fiber: Fiber.RuntimeFiber<A, E>, timeout: Duration.DurationInput, what: string) =>
  Effect.zipRight(
    Fiber.interruptFork(fiber),
    // interruptible: finalizers run uninterruptibly, and a timeout cannot cut an uninterruptible wait
    Fiber.await(fiber).pipe(
      Effect.interruptible,
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () =>
          new Error(
            `${what} did not stop within ${Duration.format(Duration.decode(timeout))} of being interrupted ` +
              "(graceful stop = stop fetching, drain, commit, disconnect)"
          )
      }),
      Effect.asVoid
    )
  )

/**
 * Runs `self` in a background fiber that the closing scope interrupts, waiting at most
 * FINALIZER_STOP_TIMEOUT for it to finish (then it reports and leaves the fiber behind, so
 * something that hangs on interruption cannot hang the whole test run).
 */
export const forkUntilScopeCloses = <A, E>(
  self: Effect.Effect<A, E>,
  what: string
): Effect.Effect<Fiber.RuntimeFiber<A, E>, never, Scope.Scope> =>
  Effect.acquireRelease(
    // acquire runs uninterruptibly and a fiber forked there inherits that: re-enable interruption
    Effect.forkDaemon(Effect.interruptible(self)),
    (fiber) =>
      stopFiber(fiber, FINALIZER_STOP_TIMEOUT, what).pipe(
        Effect.catchAll((e) => Effect.sync(() => console.error(`[integration] ${e.message}`)))
      )
  )

/**
 * Resolves `props` and runs `Mm2.run` in a background fiber. When the caller's scope closes (the
 * end of the test, pass or fail) it is interrupted, which drains and commits as SIGTERM does
 * (see forkUntilScopeCloses for the bound on that wait).
 */
export const startReplicator = <ROut = never>(
  props: Readonly<Record<string, string>>,
  /** provided to the replicator besides the client and the log capture, e.g. an in-memory tracer */
  extra: Layer.Layer<ROut> = Layer.empty as Layer.Layer<ROut>
): Effect.Effect<Replicator, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const settings = yield* resolveProps(props)
    const logs: Array<LogEntry> = []
    const capture = Logger.make(({ logLevel, message }) => {
      const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
      logs.push({ level: logLevel.label, message: text })
    })
    const registry = yield* TaskRegistry.make
    const fiber = yield* forkUntilScopeCloses(
      Mm2.runWith(settings).pipe(
        Effect.provideService(TaskRegistry, registry),
        Effect.provide(Layer.mergeAll(KafkaJsClient.layer, Logger.add(capture), extra)),
        Effect.tapErrorCause((cause) =>
          Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError("replicator stopped", cause)
        ),
        Logger.withMinimumLogLevel(replicatorLogLevel())
      ),
      "the replicator"
    )
    const expectRunning = Effect.flatMap(fiber.poll, (exit) =>
      Option.match(exit, {
        onNone: () => Effect.void,
        onSome: (e) =>
          Effect.fail(
            new Error(
              `replicator stopped: ${Exit.isFailure(e) ? Cause.pretty(e.cause) : "completed without being interrupted"}`
            )
          )
      }))
    return {
      settings,
      logs: () => [...logs],
      tasks: registry.all,
      fiber,
      expectRunning,
      stop: (timeout = FINALIZER_STOP_TIMEOUT) => stopFiber(fiber, timeout, "the replicator")
    }
  })

// ---------------------------------------------------------------------------------------------
// files
// ---------------------------------------------------------------------------------------------

const escapeKey = (s: string): string =>
  s.replace(/[\\:= #!\t\f]/g, (c) => `\\${c}`).replace(/\n/g, "\\n").replace(/\r/g, "\\r")

const escapeValue = (s: string): string =>
  s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/^[ \t\f]/, (c) => `\\${c}`)

/** Renders a `.properties` text that `java.util.Properties.load` reads back as `props`. */
export const renderProps = (props: Readonly<Record<string, string>>): string =>
  Object.entries(props).map(([k, v]) => `${escapeKey(k)} = ${escapeValue(v)}`).join("\n") + "\n"

/** Writes `props` to a fresh temp file, deleted (with its directory) when the scope closes. */
export const writeProps = (props: Readonly<Record<string, string>>): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "effect-mm2-it-"))
      const file = path.join(dir, "mm2.properties")
      await fsp.writeFile(file, renderProps(props), "utf8")
      return file
    }),
    (file) => Effect.promise(() => fsp.rm(path.dirname(file), { recursive: true, force: true }))
  )
