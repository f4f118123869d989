/**
 * An in-memory KafkaClient for UNIT tests of effect-mm2's own logic (supervision, flows,
 * progress), with fault injection (KafkaFaults.ts). It models only what our code relies on from
 * the KafkaClient interface; it makes no claim about how Kafka behaves (integration tests do).
 *
 * Clusters are identified by `ConnectionSettings.cluster`, the alias from mm2.properties
 * (bootstrap servers are ignored); a cluster exists, empty, from its first use. Per cluster it
 * keeps topics (partitions of records, offsets from 0, nothing ever expires) and consumer-group
 * committed offsets.
 *
 * Simplifications: every consumer of a group reads every partition of its topics (no group
 * assignment or rebalancing), a consumer picks up partitions added after it started, and
 * `readCommitted`, `maxBytesPerPartition` and `maxWaitTimeMs` are ignored.
 */
import { Context, Deferred, Effect, Either, Exit, Fiber, Layer, Option, Ref, Scope } from "effect"
import type { ConnectionSettings } from "../../src/kafka/ClientSettings.js"
import {
  type ConsumerOptions,
  type GroupMember,
  type GroupMemberOptions,
  KafkaClient,
  type KafkaConsumer,
  type KafkaProducer
} from "../../src/kafka/KafkaClient.js"
import { KafkaError } from "../../src/kafka/KafkaError.js"
import type {
  FetchedBatch,
  KafkaRecord,
  PartitionAck,
  PartitionWrite,
  TopicPartitionOffset
} from "../../src/kafka/KafkaRecord.js"
import * as KafkaFaults from "./KafkaFaults.js"

/** most records one FetchedBatch carries */
export const MAX_BATCH_RECORDS = 500
/**
 * How long a consumer with nothing new waits before looking again. An Effect.sleep, so the
 * TestClock drives it; not shorter because under the TestClock every completed sleep costs real
 * time (it waits for all fibers to suspend).
 */
export const POLL_INTERVAL = "50 millis"

interface ClusterState {
  /** topic -> partitions -> records, in offset order (record i has offset i) */
  readonly topics: ReadonlyMap<string, ReadonlyArray<ReadonlyArray<KafkaRecord>>>
  /** group -> `topic\0partition` -> committed next offset */
  readonly groups: ReadonlyMap<string, ReadonlyMap<string, TopicPartitionOffset>>
  /** group -> consumers currently open */
  readonly members: ReadonlyMap<string, number>
}

const EMPTY: ClusterState = { topics: new Map(), groups: new Map(), members: new Map() }

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`

/** A change of one cluster: its result and new state, or the error that leaves it unchanged. */
type Change<A> = (c: ClusterState) => Either.Either<readonly [A, ClusterState], KafkaError>

const noAuthorizer = (cluster: string, operation: string) =>
  new KafkaError({ cluster, operation, reason: "SecurityDisabled", retriable: false, detail: "no authorizer in memory" })

const unknownTopic = (cluster: string, operation: string, topic: string, partition?: number) =>
  new KafkaError({
    cluster,
    operation,
    reason: "UnknownTopic",
    retriable: true,
    topic,
    detail: `unknown topic or partition ${topic}${partition === undefined ? "" : `-${partition}`}`
  })

/** Appends the writes (all or none) and returns their base offsets. */
const appendWrites = (cluster: string, writes: ReadonlyArray<PartitionWrite>): Change<ReadonlyArray<PartitionAck>> => (c) => {
  const topics = new Map(c.topics)
  const acks: Array<PartitionAck> = []
  for (const w of writes) {
    const partitions = topics.get(w.topic)
    const log = partitions?.[w.partition]
    if (partitions === undefined || log === undefined) return Either.left(unknownTopic(cluster, "produce", w.topic, w.partition))
    const base = log.length
    const appended = w.records.map((r, i): KafkaRecord => ({
      key: r.key,
      value: r.value,
      headers: r.headers,
      timestamp: r.timestamp,
      offset: String(base + i)
    }))
    topics.set(w.topic, partitions.map((p, i) => (i === w.partition ? [...p, ...appended] : p)))
    acks.push({ topic: w.topic, partition: w.partition, baseOffset: String(base) })
  }
  return Either.right([acks, { ...c, topics }])
}

/** creates the topic unless it exists; says whether it did */
const createTopic = (topic: string, partitions: number): Change<boolean> => (c) =>
  c.topics.has(topic)
    ? Either.right([false, c])
    : Either.right([true, { ...c, topics: new Map(c.topics).set(topic, Array.from({ length: partitions }, () => [])) }])

const committedOf = (c: ClusterState, groupId: string, topic: string, partition: number): string | undefined =>
  c.groups.get(groupId)?.get(tpKey(topic, partition))?.offset

const withCommitted = (groupId: string, offsets: ReadonlyArray<TopicPartitionOffset>): Change<void> => (c) => {
  const group = new Map(c.groups.get(groupId) ?? [])
  for (const o of offsets) group.set(tpKey(o.topic, o.partition), o)
  return Either.right([undefined, { ...c, groups: new Map(c.groups).set(groupId, group) }])
}

const withMembers = (groupId: string, delta: number): Change<void> => (c) =>
  Either.right([undefined, { ...c, members: new Map(c.members).set(groupId, (c.members.get(groupId) ?? 0) + delta) }])

export class InMemoryKafka extends Context.Tag("test/InMemoryKafka")<InMemoryKafka, {
  readonly faults: KafkaFaults.KafkaFaults
  /** creates a topic (no-op if it exists) */
  readonly createTopic: (cluster: string, topic: string, partitions: number) => Effect.Effect<void>
  /** appends records as a producer would, without faults; dies on an unknown topic (a test bug) */
  readonly append: (cluster: string, write: PartitionWrite) => Effect.Effect<void>
  readonly topics: (cluster: string) => Effect.Effect<ReadonlyArray<string>>
  /** the records of each partition; empty for a topic that does not exist */
  readonly records: (cluster: string, topic: string) => Effect.Effect<ReadonlyArray<ReadonlyArray<KafkaRecord>>>
  /** the group's committed offsets, as consumers and admins committed them */
  readonly committed: (cluster: string, groupId: string) => Effect.Effect<ReadonlyArray<TopicPartitionOffset>>
  /** whether group members of this process are chosen from their next join on (default true: the only process) */
  readonly setChosen: (chosen: boolean) => Effect.Effect<void>
}>() {
  /** The in-memory KafkaClient and this handle on the same clusters; each build starts empty. */
  static readonly layer: Layer.Layer<InMemoryKafka | KafkaClient> = Layer.effectContext(Effect.gen(function*() {
    const faults = yield* KafkaFaults.make
    const world = yield* Ref.make<ReadonlyMap<string, ClusterState>>(new Map())
    const read = (cluster: string) => Effect.map(Ref.get(world), (w) => w.get(cluster) ?? EMPTY)
    const change = <A>(cluster: string, f: Change<A>): Effect.Effect<A, KafkaError> =>
      Effect.flatten(Ref.modify(world, (w): readonly [Either.Either<A, KafkaError>, ReadonlyMap<string, ClusterState>] => {
        const result = f(w.get(cluster) ?? EMPTY)
        return Either.isLeft(result)
          ? [Either.left(result.left), w]
          : [Either.right(result.right[0]), new Map(w).set(cluster, result.right[1])]
      }))
    const check = faults.check

    const admin = (conn: ConnectionSettings) =>
      Effect.gen(function*() {
        const cluster = conn.cluster
        yield* check(cluster, "connect admin", [])
        const partitionsOf = (operation: string, topic: string) =>
          Effect.flatMap(read(cluster), (c) => {
            const ps = c.topics.get(topic)
            return ps === undefined ? Effect.fail(unknownTopic(cluster, operation, topic)) : Effect.succeed(ps)
          })
        return {
          listTopics: Effect.zipRight(check(cluster, "list topics", []), Effect.map(read(cluster), (c) => [...c.topics.keys()])),
          describeTopics: (names) =>
            Effect.zipRight(
              check(cluster, "describe topics", names),
              Effect.forEach(names, (name) => Effect.map(partitionsOf("describe topics", name), (ps) => ({ name, partitions: ps.length })))
            ),
          // one topic at a time, as KafkaJsClient does: the first failure ends the call
          createTopics: (topics) =>
            Effect.forEach(topics, (t) =>
              Effect.zipRight(
                check(cluster, "create topic", [t.name]),
                change(cluster, createTopic(t.name, t.partitions))
              ).pipe(Effect.map((created) => (created ? [t.name] : [])))).pipe(Effect.map((r) => r.flat())),
          createPartitions: (increases) =>
            Effect.zipRight(
              check(cluster, "create partitions", increases.map((i) => i.topic)),
              change(cluster, (c) => {
                const topics = new Map(c.topics)
                for (const { topic, count } of increases) {
                  const ps = topics.get(topic)
                  if (ps === undefined) return Either.left(unknownTopic(cluster, "create partitions", topic))
                  if (count <= ps.length) {
                    return Either.left(
                      new KafkaError({
                        cluster,
                        operation: "create partitions",
                        reason: "InvalidRequest",
                        retriable: false,
                        topic,
                        detail: `topic ${topic} has ${ps.length} partitions, cannot grow to ${count}`
                      })
                    )
                  }
                  topics.set(topic, [...ps, ...Array.from({ length: count - ps.length }, () => [])])
                }
                return Either.right([undefined, { ...c, topics }])
              })
            ),
          fetchTopicOffsets: (topic) =>
            Effect.zipRight(
              check(cluster, "fetch topic offsets", [topic]),
              Effect.map(
                partitionsOf("fetch topic offsets", topic),
                (ps) => ps.map((records, partition) => ({ partition, low: "0", high: String(records.length) }))
              )
            ),
          // no topic ids in memory (as a cluster before Kafka 2.8), and records are never removed
          topicIds: (names) => Effect.zipRight(check(cluster, "fetch topic ids", names), Effect.succeed(new Map<string, string>())),
          deleteRecords: (topic) =>
            Effect.zipRight(
              check(cluster, "delete records", [topic]),
              Effect.fail(
                new KafkaError({ cluster, operation: "delete records", reason: "Unsupported", retriable: false, topic, detail: "not modelled in memory" })
              )
            ),
          listGroups: Effect.zipRight(
            check(cluster, "list groups", []),
            Effect.map(read(cluster), (c) => [...new Set([...c.groups.keys(), ...c.members.keys()])])
          ),
          fetchGroupOffsets: (groupId, topics) =>
            Effect.zipRight(
              check(cluster, "fetch group offsets", topics),
              // like kafkajs: -1 for a partition the group never committed
              Effect.map(read(cluster), (c) =>
                topics.flatMap((topic) =>
                  (c.topics.get(topic) ?? []).map((_, partition) => ({
                    topic,
                    partition,
                    offset: committedOf(c, groupId, topic, partition) ?? "-1"
                  }))
                ))
            ),
          fetchOffsetsOfGroups: (groups) =>
            Effect.zipRight(
              check(cluster, "fetch offsets of groups", []),
              Effect.map(read(cluster), (c) => ({
                offsets: new Map(groups.map((g) => [g, [...(c.groups.get(g)?.values() ?? [])].map((o) => ({ ...o, metadata: null }))])),
                failed: []
              }))
            ),
          describeGroups: (groups) =>
            Effect.map(read(cluster), (c) =>
              groups.map((group) => {
                const members = c.members.get(group) ?? 0
                const state = members > 0 ? "Stable" : c.groups.has(group) ? "Empty" : "Dead"
                return { group, state, protocolType: members > 0 ? "consumer" : "", members }
              })),
          requests: Effect.succeed(0),
          // no topic configs and no authorizer in memory: configs are all defaults, ACLs unsupported
          describeTopicConfigs: (topics) =>
            Effect.zipRight(check(cluster, "describe topic configs", topics), Effect.succeed(new Map(topics.map((t) => [t, []])))),
          alterTopicConfigs: (alterations) =>
            Effect.zipRight(check(cluster, "alter topic configs", alterations.map((a) => a.topic)), Effect.succeed([])),
          describeTopicAcls: Effect.fail(noAuthorizer(cluster, "describe topic ACLs")),
          createTopicAcls: () => Effect.fail(noAuthorizer(cluster, "create topic ACLs")),
          deleteTopics: (names) =>
            Effect.zipRight(
              check(cluster, "delete topics", names),
              change(cluster, (c) => {
                const topics = new Map(c.topics)
                for (const name of names) {
                  if (!topics.delete(name)) return Either.left(unknownTopic(cluster, "delete topics", name))
                }
                return Either.right([undefined, { ...c, topics }])
              })
            ),
          commitGroupOffsets: (groupId, offsets) =>
            Effect.zipRight(
              check(cluster, "commit group offsets", offsets.map((o) => o.topic)),
              change(cluster, (c) =>
                (c.members.get(groupId) ?? 0) > 0
                  ? Either.left(
                    new KafkaError({
                      cluster,
                      operation: "commit group offsets",
                      reason: "InvalidRequest",
                      retriable: false,
                      detail: `consumer group ${groupId} has active members`
                    })
                  )
                  : withCommitted(groupId, offsets)(c))
            )
        } satisfies Effect.Effect.Success<ReturnType<KafkaClient["Type"]["admin"]>>
      })

    const producer = (conn: ConnectionSettings) =>
      Effect.gen(function*() {
        const cluster = conn.cluster
        yield* check(cluster, "connect producer", [])
        return {
          send: (writes) =>
            Effect.zipRight(check(cluster, "produce", writes.map((w) => w.topic)), change(cluster, appendWrites(cluster, writes)))
        } satisfies KafkaProducer
      })

    const consumer = (conn: ConnectionSettings, o: ConsumerOptions) =>
      Effect.gen(function*() {
        const cluster = conn.cluster
        yield* check(cluster, "connect consumer", o.topics)
        // a member of its group from connect until stop (or release), as a kafkajs consumer is
        const member = yield* Ref.make(true)
        const leave = Effect.flatMap(Ref.getAndSet(member, false), (was) =>
          was ? Effect.ignore(change(cluster, withMembers(o.groupId, -1))) : Effect.void)
        yield* Effect.acquireRelease(change(cluster, withMembers(o.groupId, 1)), () => leave)
        const crash = yield* Deferred.make<never, KafkaError>()
        // the fetch loop lives until the consumer is released, like kafkajs's: a scope that closes
        // earlier (finalizers registered after this consumer) does not interrupt it
        const loopScope = yield* Effect.acquireRelease(Scope.make(), (s) => Scope.close(s, Exit.void))
        const loop = yield* Ref.make(Option.none<Fiber.RuntimeFiber<void>>())
        const stopped = yield* Ref.make(false)
        // held while a round of onBatch calls runs: `stop` waits for it
        const round = yield* Effect.makeSemaphore(1)
        // next offset to hand out per partition, from the group's commit or the start/end
        const positions = yield* Ref.make<ReadonlyMap<string, number>>(new Map())

        const fetch = Effect.gen(function*() {
          const c = yield* read(cluster)
          const next = new Map(yield* Ref.get(positions))
          const batches: Array<FetchedBatch> = []
          for (const topic of o.topics) {
            ;(c.topics.get(topic) ?? []).forEach((records, partition) => {
              const key = tpKey(topic, partition)
              let at = next.get(key)
              if (at === undefined) {
                const committed = committedOf(c, o.groupId, topic, partition)
                at = committed !== undefined ? Number(committed) : o.fromBeginning ? 0 : records.length
                next.set(key, at)
              }
              if (at < records.length) {
                batches.push({ topic, partition, records: records.slice(at, at + MAX_BATCH_RECORDS), highWatermark: String(records.length) })
              }
            })
          }
          yield* Ref.set(positions, next)
          return batches
        })

        const handed = (b: FetchedBatch) =>
          Ref.update(positions, (m) => new Map(m).set(tpKey(b.topic, b.partition), Number(b.records[b.records.length - 1]!.offset) + 1))

        const step = (onBatch: (batch: FetchedBatch) => Effect.Effect<void>) =>
          round.withPermits(1)(Effect.gen(function*() {
            if (yield* Ref.get(stopped)) return "stop" as const
            const fault = yield* Effect.either(check(cluster, "consume", o.topics))
            if (Either.isLeft(fault)) {
              // a crash: the consumer stops on its own and says so through `crashed`
              yield* Ref.set(stopped, true)
              yield* Deferred.fail(crash, fault.left)
              return "stop" as const
            }
            const batches = yield* fetch
            // awaited before the next fetch: a slow handler pauses its partition (backpressure)
            yield* Effect.forEach(batches, (b) => Effect.zipRight(onBatch(b), handed(b)), {
              concurrency: Math.max(1, o.partitionsConsumedConcurrently),
              discard: true
            })
            return batches.length === 0 ? "idle" as const : "busy" as const
          }))

        const start = (onBatch: (batch: FetchedBatch) => Effect.Effect<void>) =>
          Effect.gen(function*() {
            const poll = Effect.gen(function*() {
              for (;;) {
                const outcome = yield* step(onBatch)
                if (outcome === "stop") return
                if (outcome === "idle") yield* Effect.sleep(POLL_INTERVAL)
              }
            })
            yield* Ref.set(loop, Option.some(yield* Effect.forkIn(poll, loopScope)))
          })

        const stop = Effect.gen(function*() {
          yield* Ref.set(stopped, true)
          // a running round of onBatch calls finishes (at most 30 s, as KafkaJsClient's stop);
          // a finalizer is uninterruptible, so the bounded wait runs in an interruptible child
          yield* round.withPermits(1)(Effect.void).pipe(
            Effect.timeout("30 seconds"),
            Effect.ignore,
            Effect.interruptible,
            Effect.fork,
            Effect.flatMap(Fiber.join)
          )
          const fiber = yield* Ref.get(loop)
          if (Option.isSome(fiber)) yield* Fiber.interrupt(fiber.value)
          yield* leave
        })

        return {
          start,
          crashed: Deferred.await(crash),
          stop,
          commit: (offsets) =>
            Effect.zipRight(check(cluster, "commit offsets", offsets.map((x) => x.topic)), change(cluster, withCommitted(o.groupId, offsets)))
        } satisfies KafkaConsumer
      })

    const chosen = yield* Ref.make(true)
    const handle = InMemoryKafka.of({
      faults,
      createTopic: (cluster, topic, partitions) => Effect.asVoid(Effect.orDie(change(cluster, createTopic(topic, partitions)))),
      append: (cluster, write) => Effect.asVoid(Effect.orDie(change(cluster, appendWrites(cluster, [write])))),
      topics: (cluster) => Effect.map(read(cluster), (c) => [...c.topics.keys()]),
      records: (cluster, topic) => Effect.map(read(cluster), (c) => c.topics.get(topic) ?? []),
      committed: (cluster, groupId) => Effect.map(read(cluster), (c) => [...(c.groups.get(groupId)?.values() ?? [])]),
      setChosen: (b) => Ref.set(chosen, b)
    })
    // one process in memory: every member is the only one, so the chosen one unless a test says not
    const groupMember = (_conn: ConnectionSettings, _options: GroupMemberOptions) =>
      Effect.succeed({
        join: Effect.map(Ref.get(chosen), (c) => ({ memberId: "in-memory", generation: 1, chosen: c })),
        heartbeat: () => Effect.succeed("ok" as const),
        leave: Effect.void
      } satisfies GroupMember)
    return Context.make(InMemoryKafka, handle).pipe(Context.add(KafkaClient, KafkaClient.of({ admin, producer, consumer, groupMember })))
  }))
}
