/**
 * Java MirrorMaker 2's replication positions, as its Connect worker stores them: records in the
 * herder's offsets topic on the TARGET cluster (`offset.storage.topic` of the herder's worker
 * config, by default `mm2-offsets.<source alias>.internal`; see spec 5.6 and 6.1).
 *
 *   key   = ["MirrorSourceConnector",{"cluster":"<source alias>","partition":3,"topic":"orders"}]
 *   value = {"offset":1234}   the LAST replicated source offset (Java seeks to 1234 + 1), or null
 *
 * Both are compact JSON (Connect's JsonConverter without schemas), written with the default
 * partitioner (murmur2 of the key bytes), so the newest record per key is the position. Reading
 * them lets a flow without progress of its own start where Java MM2 stopped; writing ours in the
 * same bytes lets Java MM2 start where we stopped (`effect-mm2.connect.offsets.emit.enabled`).
 */
import { Duration, Effect, Option, Scope } from "effect"
import { randomUUID } from "node:crypto"
import type { ConnectionSettings } from "../kafka/ClientSettings.js"
import { type KafkaAdmin, KafkaClient, type KafkaProducer } from "../kafka/KafkaClient.js"
import { KafkaError } from "../kafka/KafkaError.js"
import { topicPartitionKey } from "../kafka/KafkaRecord.js"
import { privateKafkaJsRequire } from "../kafka/internal/kafkajs.js"
import { type FlowContextShape, OWN_GROUP_PREFIX } from "./FlowContext.js"

/** The connector name MM2's dedicated mode gives its source connector (the class's simple name). */
export const SOURCE_CONNECTOR = "MirrorSourceConnector"

/** Connect's defaults for the offsets topic (`offset.storage.partitions`, `offset.storage.replication.factor`). */
export const DEFAULT_PARTITIONS = 25
export const DEFAULT_REPLICATION_FACTOR = 3

/** Where a flow's Connect offsets live, read from the herder's worker config as MM2 derives it. */
export interface OffsetsTopic {
  readonly name: string
  readonly partitions: number
  /** -1 = the broker's default */
  readonly replicationFactor: number
}

const intOr = (value: string | undefined, fallback: number): number => {
  const n = value === undefined ? Number.NaN : Number(value.trim())
  return Number.isInteger(n) ? n : fallback
}

/**
 * `offset.storage.topic`, `.partitions` and `.replication.factor` of the herder `source->target`:
 * a top-level key wins over `<target>.key`, then Connect's defaults (MirrorMakerConfig.workerConfig).
 */
export const offsetsTopicOf = (worker: ReadonlyMap<string, string>, source: string): OffsetsTopic => ({
  name: worker.get("offset.storage.topic") ?? `mm2-offsets.${source}.internal`,
  partitions: intOr(worker.get("offset.storage.partitions"), DEFAULT_PARTITIONS),
  replicationFactor: intOr(worker.get("offset.storage.replication.factor"), DEFAULT_REPLICATION_FACTOR)
})

// ---------------------------------------------------------------------------------------------
// codec
// ---------------------------------------------------------------------------------------------

/** A source partition as MM2 names it in Connect's offsets. */
export interface SourcePartition {
  readonly cluster: string
  readonly topic: string
  readonly partition: number
}

/**
 * The key bytes Java MM2 writes for a source partition. Member order is that of Java's HashMap
 * for these three names (cluster, partition, topic); JSON.stringify escapes strings as Jackson
 * does for the characters topic names and aliases can hold.
 */
export const encodeKey = (p: SourcePartition, connector: string = SOURCE_CONNECTOR): Buffer =>
  Buffer.from(
    `[${JSON.stringify(connector)},{"cluster":${JSON.stringify(p.cluster)},"partition":${p.partition},"topic":${
      JSON.stringify(p.topic)
    }}]`,
    "utf8"
  )

/** The value bytes for `lastReplicated`, the last source offset replicated (not the next one). */
export const encodeValue = (lastReplicated: bigint): Buffer => Buffer.from(`{"offset":${lastReplicated.toString()}}`, "utf8")

/** One record of the offsets topic that is a MirrorSourceConnector position; `offset` null = tombstone. */
export interface SourcePosition extends SourcePartition {
  /** the last replicated source offset, or null (the position was deleted) */
  readonly offset: bigint | null
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * A record of the offsets topic as a source position, if it is one of `connector` (other
 * connectors, e.g. the checkpoint connector, share the topic). Offsets are read as exact integers
 * from the text (JSON.parse would round those above 2^53).
 */
export const decode = (key: Buffer | null, value: Buffer | null, connector: string = SOURCE_CONNECTOR): Option.Option<SourcePosition> => {
  if (key === null) return Option.none()
  let parsed: unknown
  try {
    parsed = JSON.parse(key.toString("utf8"))
  } catch {
    return Option.none()
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || parsed[0] !== connector) return Option.none()
  const p: unknown = parsed[1]
  if (!isRecord(p) || typeof p["cluster"] !== "string" || typeof p["topic"] !== "string") return Option.none()
  const partition = p["partition"]
  if (typeof partition !== "number" || !Number.isInteger(partition) || partition < 0) return Option.none()
  const base = { cluster: p["cluster"], topic: p["topic"], partition }
  if (value === null) return Option.some({ ...base, offset: null })
  const text = value.toString("utf8")
  const match = /^\s*\{\s*"offset"\s*:\s*(-?\d+)\s*\}\s*$/.exec(text)
  if (match?.[1] !== undefined) return Option.some({ ...base, offset: BigInt(match[1]) })
  // anything else that is JSON null is a tombstone too; other values are not positions
  return text.trim() === "null" ? Option.some({ ...base, offset: null }) : Option.none()
}

/**
 * Kafka's `Utils.murmur2` (32-bit, seed 0x9747b28c), as a signed 32-bit integer: kafkajs's own,
 * the hash of its Java-compatible default partitioner.
 */
export const murmur2 = (data: Uint8Array): number =>
  (privateKafkaJsRequire("producer/partitioners/default/murmur2.js") as (key: Buffer) => number)(Buffer.from(data.buffer, data.byteOffset, data.byteLength))

/** The partition the Java producer's default partitioner picks for a keyed record. */
export const partitionFor = (key: Uint8Array, partitions: number): number => (murmur2(key) & 0x7fffffff) % partitions

// ---------------------------------------------------------------------------------------------
// reading
// ---------------------------------------------------------------------------------------------

/** Java MM2's last replicated offset per source partition (`topicPartitionKey`) of `sourceAlias`. */
export type JavaPositions = ReadonlyMap<string, bigint>

/**
 * Reads the whole offsets topic (the newest record per key wins) and returns the positions of
 * `sourceAlias`'s partitions; `None` if the topic does not exist. An ephemeral group of ours does
 * the reading and never commits.
 */
export const readPositions = (
  connection: ConnectionSettings,
  admin: KafkaAdmin,
  topic: string,
  sourceAlias: string,
  flow: string
): Effect.Effect<Option.Option<JavaPositions>, KafkaError, KafkaClient> =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    if (!(yield* admin.listTopics).includes(topic)) return Option.none()
    const ends = new Map<number, bigint>()
    for (const o of yield* admin.fetchTopicOffsets(topic)) {
      if (BigInt(o.high) > BigInt(o.low)) ends.set(o.partition, BigInt(o.high))
    }
    const positions = new Map<string, bigint>()
    if (ends.size === 0) return Option.some(positions)
    const remaining = new Set(ends.keys())
    let done: () => void = () => {}
    const finished = new Promise<void>((resolve) => {
      done = resolve
    })
    const consumer = yield* kafka.consumer(connection, {
      groupId: `${OWN_GROUP_PREFIX}${flow}.connect-offsets.${randomUUID()}`,
      topics: [topic],
      fromBeginning: true,
      partitionsConsumedConcurrently: 4
    })
    yield* consumer.start((batch) =>
      Effect.sync(() => {
        const end = ends.get(batch.partition)
        if (end === undefined) return
        for (const r of batch.records) {
          if (BigInt(r.offset) >= end) break
          const d = decode(r.key, r.value)
          if (Option.isNone(d) || d.value.cluster !== sourceAlias) continue
          const key = topicPartitionKey(d.value.topic, d.value.partition)
          if (d.value.offset === null) positions.delete(key)
          else positions.set(key, d.value.offset)
        }
        const last = batch.records[batch.records.length - 1]
        const caughtUp = last !== undefined && BigInt(last.offset) + 1n >= end
        if (caughtUp && remaining.delete(batch.partition) && remaining.size === 0) done()
      })
    )
    yield* Effect.raceFirst(Effect.promise(() => finished), consumer.crashed)
    yield* consumer.stop
    return Option.some(positions)
  }).pipe(Effect.scoped)

// ---------------------------------------------------------------------------------------------
// writing
// ---------------------------------------------------------------------------------------------

/** A next offset to read (as our progress stores it) of a source partition. */
export interface NextOffset {
  readonly topic: string
  readonly partition: number
  readonly offset: string
}

export interface ConnectOffsetsWriter {
  /** Writes these positions in Java's format (creating the topic like Connect would, once). */
  readonly write: (offsets: ReadonlyArray<NextOffset>) => Effect.Effect<void, KafkaError>
}

/**
 * A writer of our positions into the offsets topic; `producer` and `admin` are the target's,
 * connected lazily by the caller. Positions with nothing replicated (next offset 0) are left out:
 * Java starts such partitions per auto.offset.reset anyway.
 */
export const makeWriter = (options: {
  readonly topic: OffsetsTopic
  readonly sourceAlias: string
  readonly targetAlias: string
  readonly admin: Effect.Effect<KafkaAdmin, KafkaError>
  readonly producer: Effect.Effect<KafkaProducer, KafkaError>
}): ConnectOffsetsWriter => {
  let partitions: number | undefined
  const { topic } = options
  const ensureTopic = Effect.gen(function*() {
    if (partitions !== undefined) return partitions
    const admin = yield* options.admin
    // what Connect's KafkaOffsetBackingStore creates when the topic is missing
    yield* admin.createTopics([{
      name: topic.name,
      partitions: topic.partitions,
      replicationFactor: topic.replicationFactor,
      configs: [{ name: "cleanup.policy", value: "compact" }]
    }])
    const described = (yield* admin.describeTopics([topic.name]))[0]
    if (described === undefined || described.partitions <= 0) {
      return yield* new KafkaError({
        cluster: options.targetAlias,
        operation: `describe ${topic.name}`,
        reason: "Transient",
        retriable: true,
        detail: "the topic has no partitions yet"
      })
    }
    partitions = described.partitions
    return described.partitions
  })
  return {
    write: (offsets) =>
      Effect.gen(function*() {
        const positions = offsets.filter((o) => BigInt(o.offset) > 0n)
        if (positions.length === 0) return
        const count = yield* ensureTopic
        const producer = yield* options.producer
        const timestamp = Date.now().toString()
        const byPartition = new Map<number, Array<{ key: Buffer; value: Buffer; headers: []; timestamp: string }>>()
        for (const o of positions) {
          const key = encodeKey({ cluster: options.sourceAlias, topic: o.topic, partition: o.partition })
          const p = partitionFor(key, count)
          const list = byPartition.get(p) ?? []
          list.push({ key, value: encodeValue(BigInt(o.offset) - 1n), headers: [], timestamp })
          byPartition.set(p, list)
        }
        yield* producer.send([...byPartition].map(([partition, records]) => ({ topic: topic.name, partition, records })))
      })
  }
}

/** How long one write of our positions into the offsets topic may take (it is tried again with the next commit). */
export const WRITE_TIMEOUT = Duration.seconds(10)

// ---------------------------------------------------------------------------------------------
// one flow's bridge to Java MM2
// ---------------------------------------------------------------------------------------------

/** A client connected on first use and kept in `scope` (a failed connect is tried again next time). */
const lazily = <A>(connect: Effect.Effect<A, KafkaError, Scope.Scope>, scope: Scope.Scope) =>
  Effect.map(Effect.makeSemaphore(1), (connecting) => {
    let client: A | undefined
    return connecting.withPermits(1)(Effect.suspend(() =>
      client !== undefined ? Effect.succeed(client) : connect.pipe(
        Scope.extend(scope),
        Effect.tap((a) => {
          client = a
        })
      )
    ))
  })

export interface FlowBridge {
  /** the offsets topic of this flow's herder */
  readonly topic: OffsetsTopic
  /**
   * Java MM2's positions of this flow's source partitions, read once (later calls answer the
   * same). A topic that does not exist or cannot be read gives none, with one WARN naming it.
   */
  readonly javaPositions: Effect.Effect<JavaPositions>
  /** Says once, at INFO, how many partitions start from Java MM2's positions. */
  readonly resumed: (partitions: number) => Effect.Effect<void>
  /**
   * With `effect-mm2.connect.offsets.emit.enabled`: writes these committed positions (next
   * offsets) in Java's format; never fails (a failure is one WARN per failure streak, and the
   * next commit writes again). Otherwise does nothing.
   */
  readonly emit: (offsets: ReadonlyArray<NextOffset>) => Effect.Effect<void>
}

export const forFlow = (ctx: FlowContextShape, targetAdmin: Effect.Effect<KafkaAdmin, KafkaError>) =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    const scope = yield* Effect.scope
    const { source, target } = ctx.settings
    const topic = offsetsTopicOf(ctx.settings.worker, source)
    const read = Effect.flatMap(targetAdmin, (admin) => readPositions(ctx.settings.clients.targetConsumer, admin, topic.name, source, ctx.name)).pipe(
      Effect.provideService(KafkaClient, kafka),
      Effect.timeoutFail({
        duration: Duration.millis(Math.max(ctx.settings.adminTimeoutMs, 10_000)),
        onTimeout: () => new Error("not read to its end in time")
      }),
      Effect.map(Option.getOrElse((): JavaPositions => new Map())),
      Effect.catchAll((e) =>
        Effect.as(
          Effect.logWarning(
            `${ctx.name}: cannot read Java MirrorMaker 2's positions from ${topic.name} on cluster '${target}' (${e.message}); ` +
              "partitions without progress of their own start per auto.offset.reset"
          ),
          new Map<string, bigint>()
        )
      )
    )
    const javaPositions = yield* Effect.cached(read)
    let told = false
    const resumed = (partitions: number) =>
      Effect.suspend(() => {
        if (told || partitions === 0) return Effect.void
        told = true
        return Effect.logInfo(
          `${ctx.name}: ${partitions} source partition${partitions === 1 ? "" : "s"} without progress of ours resume where ` +
            `Java MirrorMaker 2 stopped (its positions in ${topic.name} on cluster '${target}')`
        )
      })
    if (!ctx.settings.connectOffsetsEmitEnabled) {
      return { topic, javaPositions, resumed, emit: () => Effect.void } satisfies FlowBridge
    }
    const producer = yield* lazily(kafka.producer(ctx.targetProducer, ctx.targetProducerSettings), scope)
    const writer = makeWriter({ topic, sourceAlias: source, targetAlias: target, admin: targetAdmin, producer })
    let failing = false
    const emit = (offsets: ReadonlyArray<NextOffset>) =>
      writer.write(offsets).pipe(
        Effect.timeoutFail({ duration: WRITE_TIMEOUT, onTimeout: () => new Error(`no answer within ${Duration.format(WRITE_TIMEOUT)}`) }),
        Effect.matchEffect({
          onFailure: (e) => {
            const message = `${ctx.name}: writing our positions to ${topic.name} on cluster '${target}' for Java MirrorMaker 2 failed, ` +
              `tried again with every commit: ${e.message}`
            const log = failing ? Effect.logDebug(message) : Effect.logWarning(message)
            failing = true
            return log
          },
          onSuccess: () => {
            if (!failing) return Effect.void
            failing = false
            return Effect.logInfo(`${ctx.name}: our positions are written to ${topic.name} on cluster '${target}' again`)
          }
        })
      )
    return { topic, javaPositions, resumed, emit } satisfies FlowBridge
  })
