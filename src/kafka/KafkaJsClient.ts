/**
 * KafkaClient on kafkajs 2.2.4 (patched and with all codecs, see internal/kafkajs.ts).
 * Every client is an acquireRelease resource: disconnect runs on success, failure and interruption.
 */
import { Deferred, Duration, Effect, FiberSet, Layer, Runtime, Schedule } from "effect"
import type * as K from "kafkajs"
import type { ConnectionSettings, ProducerSettings } from "./ClientSettings.js"
import {
  type AclOperation,
  type ConfigSource,
  type ConsumerOptions,
  type GroupMemberOptions,
  KafkaClient,
  type KafkaConsumer,
  type KafkaProducer,
  type OutOfRangeAction,
  type TopicAcl
} from "./KafkaClient.js"
import { KafkaError, type KafkaErrorReason } from "./KafkaError.js"
import * as FetchSizing from "./FetchSizing.js"
import { decodedBytes, type FetchedBatch, type KafkaRecord, type PartitionWrite } from "./KafkaRecord.js"
import { bounded } from "../supervision/Bounded.js"
import {
  fetchedBytesOf,
  kafkaErrorName,
  loadKafkaJs,
  onFetch,
  onOffsetOutOfRange,
  onRebalance,
  type OutOfRangeDecision,
  PRE_GROUPED
} from "./internal/kafkajs.js"
import { METADATA_TOPIC_IDS_MIN_VERSION, topicIdsRequest } from "./internal/metadataRequest.js"
import { makeKafkaJsGroups } from "./KafkaJsGroups.js"
import { makeGroupMember } from "./KafkaJsMembership.js"
import { incrementalAlterTopicConfigs } from "./internal/configRequests.js"

/** kafkajs's default max.partition.fetch.bytes (1 MiB, Kafka's too). */
const DEFAULT_MAX_PARTITION_FETCH_BYTES = 1_048_576

const errorName = (e: unknown): string => (e instanceof Error ? e.name : "")
const errorType = (e: unknown): string =>
  typeof e === "object" && e !== null && "type" in e && typeof e.type === "string" ? e.type : ""

/**
 * Follows kafkajs's `originalError` / `cause` chain down to the broker's error, if any. An
 * aggregate (createTopics' "Topic creation errors") stands for its first error, which carries
 * the broker's code and reason (e.g. INVALID_REPLICATION_FACTOR).
 */
const rootOf = (e: unknown): unknown => {
  let current = e
  for (let i = 0; i < 5; i++) {
    if (typeof current !== "object" || current === null) break
    const first = "errors" in current && Array.isArray(current.errors) ? (current.errors[0] as unknown) : undefined
    const next = ("originalError" in current && current.originalError) || ("cause" in current && current.cause) || first
    if (!next) break
    current = next
  }
  return current
}

/** Node's codes for a server certificate we do not trust: no retry can fix that (Java fails at once too). */
const UNTRUSTED_CERTIFICATE = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID"
])

const codeOf = (e: unknown): string =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : ""

const classify = (e: unknown): { reason: KafkaErrorReason; retriable: boolean } => {
  const root = rootOf(e)
  if (UNTRUSTED_CERTIFICATE.has(codeOf(root)) || UNTRUSTED_CERTIFICATE.has(codeOf(e))) {
    return { reason: "Authentication", retriable: false }
  }
  const type = errorType(root) || errorType(e)
  const name = errorName(root)
  if (name === "KafkaJSSASLAuthenticationError" || type === "SASL_AUTHENTICATION_FAILED" || type === "ILLEGAL_SASL_STATE" || type === "UNSUPPORTED_SASL_MECHANISM") {
    return { reason: "Authentication", retriable: false }
  }
  if (type.endsWith("AUTHORIZATION_FAILED")) return { reason: "Authorization", retriable: false }
  if (type === "MESSAGE_TOO_LARGE" || type === "RECORD_LIST_TOO_LARGE" || type === "INVALID_RECORD") {
    return { reason: "RecordTooLarge", retriable: false }
  }
  if (type === "UNKNOWN_TOPIC_OR_PARTITION") return { reason: "UnknownTopic", retriable: true }
  // about one topic (its name, a topic policy), not the settings: the other topics can go on
  if (type === "INVALID_TOPIC_EXCEPTION" || type === "POLICY_VIOLATION") return { reason: "TopicRejected", retriable: false }
  if (type === "INVALID_REPLICATION_FACTOR" || type === "INVALID_PARTITIONS" || type === "INVALID_CONFIG") {
    return { reason: "InvalidRequest", retriable: false }
  }
  if (type === "SECURITY_DISABLED") return { reason: "SecurityDisabled", retriable: false }
  if (type === "UNSUPPORTED_VERSION" || name === "KafkaJSServerDoesNotSupportApiKey") return { reason: "Unsupported", retriable: false }
  if (name === "KafkaJSConnectionError" || name === "KafkaJSNonRetriableError" || name === "KafkaJSNumberOfRetriesExceeded" || name === "KafkaJSBrokerNotFound") {
    return { reason: "Unreachable", retriable: true }
  }
  return { reason: "Transient", retriable: true }
}

const describe = (e: unknown): string => {
  const root = rootOf(e)
  const outer = e instanceof Error ? e.message : String(e)
  const inner = root !== e && root instanceof Error ? root.message : ""
  return inner && inner !== outer ? `${outer} (${inner})` : outer
}

export const toKafkaError = (cluster: string, operation: string, topic?: string) => (e: unknown): KafkaError =>
  e instanceof KafkaError ? e : new KafkaError({
    cluster,
    operation,
    ...classify(e),
    detail: describe(e),
    ...(topic !== undefined ? { topic } : {}),
    cause: e
  })

/**
 * The operations of one client still running. An Effect interrupted while it awaits a kafkajs
 * promise does not stop that promise: a send or an admin call carries on, and may open a new
 * broker connection after the client was disconnected, which then keeps the process alive.
 * Closing therefore waits for them (bounded) and closes again if one was still running.
 */
interface Operations {
  readonly track: <A>(p: Promise<A>) => Promise<A>
  /** resolves once every tracked operation settled, or after `ms` */
  readonly settled: (ms: number) => Promise<void>
  readonly busy: () => boolean
}

const makeOperations = (): Operations => {
  const running = new Set<Promise<unknown>>()
  return {
    track: (p) => {
      running.add(p)
      const done = () => {
        running.delete(p)
      }
      // both handlers: this derived promise never rejects
      p.then(done, done)
      return p
    },
    settled: (ms) =>
      running.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms)
        Promise.allSettled([...running]).then(() => {
          clearTimeout(timer)
          resolve()
        }, () => undefined)
      }),
    busy: () => running.size > 0
  }
}

/**
 * Waits a bounded time for a client to close (after its running operations, see Operations).
 */
const closeWithin = (limit: Duration.DurationInput, close: () => Promise<unknown>, operations?: Operations) => {
  const ms = Duration.toMillis(limit)
  return Effect.promise(async () => {
    await operations?.settled(ms)
    await close().catch(() => undefined)
    if (operations?.busy()) {
      await operations.settled(ms)
      await close().catch(() => undefined)
    }
  }).pipe((close) => bounded(close, Duration.millis(operations === undefined ? ms : ms * 2)), Effect.asVoid)
}

const call = <A>(cluster: string, operation: string, f: () => Promise<A>, topic?: string, operations?: Operations) =>
  Effect.tryPromise({ try: () => (operations === undefined ? f() : operations.track(f())), catch: toKafkaError(cluster, operation, topic) })

const compressionCode = (kafkajs: typeof K, c: ProducerSettings["compression"]): K.CompressionTypes => {
  switch (c) {
    case "gzip":
      return kafkajs.CompressionTypes.GZIP
    case "snappy":
      return kafkajs.CompressionTypes.Snappy
    case "lz4":
      return kafkajs.CompressionTypes.LZ4
    case "zstd":
      return kafkajs.CompressionTypes.ZSTD
    case "none":
      return kafkajs.CompressionTypes.None
  }
}

const makeKafka = (kafkajs: typeof K, c: ConnectionSettings, log: (level: "warn" | "error", msg: string) => void): K.Kafka => {
  const levels = kafkajs.logLevel
  return new kafkajs.Kafka({
    clientId: c.clientId,
    brokers: [...c.brokers],
    connectionTimeout: c.connectionTimeoutMs,
    requestTimeout: c.requestTimeoutMs,
    // retries inside kafkajs stay short; our Schedules own the long backoff
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 5 },
    ...(c.tls !== undefined
      ? {
        ssl: {
          ...(c.tls.ca !== undefined ? { ca: [...c.tls.ca] } : {}),
          ...(c.tls.cert !== undefined ? { cert: c.tls.cert } : {}),
          ...(c.tls.key !== undefined ? { key: c.tls.key } : {}),
          ...(c.tls.passphrase !== undefined ? { passphrase: c.tls.passphrase } : {}),
          rejectUnauthorized: c.tls.rejectUnauthorized,
          ...(c.tls.checkServerIdentity ? {} : { checkServerIdentity: () => undefined })
        }
      }
      : {}),
    ...(c.sasl !== undefined ? { sasl: { ...c.sasl } as K.SASLOptions } : {}),
    logLevel: levels.WARN,
    logCreator: () => (entry) => {
      if (entry.level > levels.WARN) return
      log(entry.level === levels.ERROR ? "error" : "warn", `[kafkajs ${c.cluster}] ${entry.log.message}`)
    }
  })
}

// kafkajs's protocol numbers (its enums are types only in its .d.ts)
const CONFIG_RESOURCE_TOPIC = 2 as K.ConfigResourceTypes
const CONFIG_SOURCES: ReadonlyArray<ConfigSource> = [
  "unknown",
  "topic",
  "dynamic-broker",
  "dynamic-default-broker",
  "static-broker",
  "default",
  "unknown"
]
const ACL_RESOURCE_TOPIC = 2 as K.AclResourceTypes
const PATTERN_ANY = 1 as K.ResourcePatternTypes
const PATTERN_LITERAL = 3 as K.ResourcePatternTypes
const PATTERN_PREFIXED = 4 as K.ResourcePatternTypes
const ACL_OPERATION_ANY = 1 as K.AclOperationTypes
const ACL_PERMISSION_ANY = 1 as K.AclPermissionTypes
const ACL_PERMISSION_DENY = 2 as K.AclPermissionTypes
const ACL_PERMISSION_ALLOW = 3 as K.AclPermissionTypes
/** index = Kafka's AclOperation code (0 unknown, 1 any) */
const ACL_OPERATIONS: ReadonlyArray<AclOperation> = [
  "unknown",
  "unknown",
  "all",
  "read",
  "write",
  "create",
  "delete",
  "alter",
  "describe",
  "cluster-action",
  "describe-configs",
  "alter-configs",
  "idempotent-write"
]

const UNKNOWN_TOPIC_OR_PARTITION = 3

const toDecision = (a: OutOfRangeAction): OutOfRangeDecision => {
  switch (a._tag) {
    case "Seek":
      return { seek: a.offset }
    case "Pause":
      return { pause: true }
    case "Retry":
      return { retry: true }
  }
}

const GROUP_ACTIVE = new Set(["UNKNOWN_MEMBER_ID", "ILLEGAL_GENERATION", "REBALANCE_IN_PROGRESS", "FENCED_MEMBER_EPOCH"])

/** About 5 s in all: enough for a group coordinator to finish loading after a broker start. */
const COORDINATOR_RETRY = Schedule.exponential("100 millis").pipe(Schedule.union(Schedule.spaced("1 second")), Schedule.intersect(Schedule.recurs(8)))

const make = Effect.gen(function*() {
  const kafkajs = yield* Effect.promise(() => loadKafkaJs())
  const runtime = yield* Effect.runtime<never>()
  // kafkajs logs every retried protocol error at ERROR from its own callbacks. The failures that
  // matter reach us as KafkaErrors (and are logged with context by the flow), so its lines go to
  // DEBUG: visible with --log-level debug, quiet otherwise.
  const log = (level: "warn" | "error", msg: string) => {
    Runtime.runFork(runtime)(Effect.logDebug(`${level}: ${msg}`))
  }

  const admin = (c: ConnectionSettings) =>
    Effect.gen(function*() {
      const kafka = makeKafka(kafkajs, c, log)
      const client = kafka.admin()
      const groupOps = makeKafkaJsGroups(kafka)
      let requests = 0
      client.on(client.events.REQUEST, () => {
        requests++
      })
      const operations = makeOperations()
      yield* Effect.acquireRelease(
        call(c.cluster, "connect admin", () => client.connect()),
        () =>
          closeWithin("5 seconds", async () => {
            await groupOps.disconnect()
            await client.disconnect()
          }, operations)
      )
      const op = <A>(name: string, f: () => Promise<A>, topic?: string) => call(c.cluster, name, f, topic, operations)
      return {
        listTopics: op("list topics", () => client.listTopics()),
        describeTopics: (names) =>
          names.length === 0
            ? Effect.succeed([])
            : op("describe topics", () => client.fetchTopicMetadata({ topics: [...names] })).pipe(
              Effect.map((m) => m.topics.map((t) => ({ name: t.name, partitions: t.partitions.length })))
            ),
        createTopics: (topics) =>
          topics.length === 0 ? Effect.succeed([]) : Effect.forEach(topics, (t) =>
            op("create topic", () =>
              client.createTopics({
                waitForLeaders: true,
                topics: [{
                  topic: t.name,
                  numPartitions: t.partitions,
                  replicationFactor: t.replicationFactor,
                  configEntries: (t.configs ?? []).map((e) => ({ name: e.name, value: e.value }))
                }]
              }), t.name).pipe(
                Effect.map((created) => (created ? [t.name] : [])),
                Effect.catchIf((e) => errorType(rootOf(e.cause)) === "TOPIC_ALREADY_EXISTS", () => Effect.succeed([]))
              ), { concurrency: 1 }).pipe(Effect.map((r) => r.flat())),
        createPartitions: (increases) =>
          increases.length === 0 ? Effect.void : op("create partitions", () =>
            client.createPartitions({ topicPartitions: increases.map((i) => ({ topic: i.topic, count: i.count })) })).pipe(
              Effect.asVoid
            ),
        fetchTopicOffsets: (topic) =>
          op("fetch topic offsets", () => client.fetchTopicOffsets(topic), topic).pipe(
            Effect.map((ps) => ps.map((p) => ({ partition: p.partition, low: p.low, high: p.high })))
          ),
        topicIds: (names) =>
          names.length === 0 ? Effect.succeed(new Map()) : op("fetch topic ids", () => groupOps.sendToAnyBroker(topicIdsRequest(names))).pipe(
            // a broker before Kafka 3.1 may still know v10 (2.8+); before that there are no topic ids
            Effect.catchIf((e) => e.reason === "Unsupported", () =>
              op("fetch topic ids", () => groupOps.sendToAnyBroker(topicIdsRequest(names, METADATA_TOPIC_IDS_MIN_VERSION)))),
            Effect.flatMap((topics) => {
              const ids = new Map<string, string>()
              for (const t of topics) {
                // a topic whose leader is still being elected has its id already
                if (t.topicId !== undefined) ids.set(t.name, t.topicId)
                else if (t.errorCode !== 0 && t.errorCode !== UNKNOWN_TOPIC_OR_PARTITION) {
                  return Effect.fail(new KafkaError({
                    cluster: c.cluster,
                    operation: "fetch topic ids",
                    topic: t.name,
                    ...classify({ type: kafkaErrorName(t.errorCode) }),
                    detail: kafkaErrorName(t.errorCode)
                  }))
                }
              }
              return Effect.succeed(ids)
            }),
            Effect.catchIf((e) => e.reason === "Unsupported", () => Effect.succeed(new Map<string, string>()))
          ),
        deleteRecords: (topic, partitions) =>
          partitions.length === 0 ? Effect.void : op("delete records", async () => {
            // kafkajs looks up the leaders before it loads the topic's metadata: load it first
            await client.fetchTopicOffsets(topic)
            await client.deleteTopicRecords({ topic, partitions: partitions.map((p) => ({ partition: p.partition, offset: p.offset })) })
          }, topic),
        listGroups: op("list groups", () => client.listGroups()).pipe(
          // as Java's listConsumerGroups: an empty protocol type is a group that only has committed offsets
          Effect.map((r) => r.groups.filter((g) => g.protocolType === "consumer" || g.protocolType === "").map((g) => g.groupId))
        ),
        fetchGroupOffsets: (groupId, topics) =>
          op("fetch group offsets", () => client.fetchOffsets({ groupId, topics: [...topics] })).pipe(
            Effect.map((ts) =>
              ts.flatMap((t) =>
                t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: p.offset, metadata: p.metadata }))
              )
            )
          ),
        deleteTopics: (names) =>
          names.length === 0 ? Effect.void : op("delete topics", () => client.deleteTopics({ topics: [...names] })),
        fetchOffsetsOfGroups: (groups, topics) =>
          op("fetch offsets of groups", () =>
            groupOps.fetchOffsetsOfGroups(groups, async (groupId) =>
              (await client.fetchOffsets({ groupId, topics: [...topics] })).flatMap((t) =>
                t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: p.offset, metadata: p.metadata }))
              ))),
        describeGroups: (groups) => op("describe groups", () => groupOps.describeGroups(groups)),
        commitGroupOffsets: (groupId, offsets) =>
          op(`commit offsets of group ${groupId}`, () => groupOps.commit(groupId, offsets), offsets[0]?.topic).pipe(
            // from outside, the broker answers these only while the group has members (who own it)
            Effect.mapError((e) =>
              GROUP_ACTIVE.has(errorType(rootOf(e.cause))) ? new KafkaError({ ...e, reason: "GroupActive", retriable: false }) : e
            ),
            // a coordinator that is loading or moving (a fresh or restarted broker) answers soon
            Effect.retry({ schedule: COORDINATOR_RETRY, while: (e) => e.retriable })
          ),
        describeTopicConfigs: (topics) =>
          topics.length === 0 ? Effect.succeed(new Map()) : op("describe topic configs", () =>
            client.describeConfigs({
              includeSynonyms: false,
              resources: topics.map((name) => ({ type: CONFIG_RESOURCE_TOPIC, name }))
            }), topics.length === 1 ? topics[0] : undefined).pipe(
              Effect.flatMap((r) => {
                const failed = r.resources.find((t) => t.errorCode !== 0)
                if (failed !== undefined) {
                  return Effect.fail(new KafkaError({
                    cluster: c.cluster,
                    operation: "describe topic configs",
                    topic: failed.resourceName,
                    ...classify({ type: kafkaErrorName(failed.errorCode) }),
                    detail: failed.errorMessage || kafkaErrorName(failed.errorCode)
                  }))
                }
                return Effect.succeed(
                  new Map(r.resources.map((t) => [t.resourceName, t.configEntries.map((e) => ({
                    name: e.configName,
                    value: e.configValue,
                    source: CONFIG_SOURCES[e.configSource] ?? "unknown",
                    readOnly: e.readOnly,
                    sensitive: e.isSensitive
                  }))]))
                )
              })
            ),
        alterTopicConfigs: (alterations) =>
          alterations.length === 0 ? Effect.succeed([]) : op("alter topic configs", () => groupOps.sendToAnyBroker(incrementalAlterTopicConfigs(alterations))).pipe(
            Effect.map((results) =>
              results.filter((r) => r.errorCode !== 0).map((r) => ({
                topic: r.topic,
                detail: r.errorMessage ? `${kafkaErrorName(r.errorCode)}: ${r.errorMessage}` : kafkaErrorName(r.errorCode)
              }))
            )
          ),
        describeTopicAcls: op("describe topic ACLs", () =>
          client.describeAcls({
            resourceType: ACL_RESOURCE_TOPIC,
            resourcePatternType: PATTERN_ANY,
            operation: ACL_OPERATION_ANY,
            permissionType: ACL_PERMISSION_ANY
          })).pipe(
            Effect.mapError((e) =>
              errorType(rootOf(e.cause)) === "SECURITY_DISABLED" ? new KafkaError({ ...e, reason: "SecurityDisabled", retriable: false }) : e
            ),
            Effect.map((r) =>
              r.resources.flatMap((res) =>
                res.acls.map((a): TopicAcl => ({
                  topic: res.resourceName,
                  pattern: res.resourcePatternType === PATTERN_LITERAL ? "literal" : res.resourcePatternType === PATTERN_PREFIXED ? "prefixed" : "other",
                  principal: a.principal,
                  host: a.host,
                  operation: ACL_OPERATIONS[a.operation] ?? "unknown",
                  permission: a.permissionType === ACL_PERMISSION_DENY ? "deny" : "allow"
                }))
              )
            )
          ),
        createTopicAcls: (acls) =>
          acls.length === 0 ? Effect.void : op("create topic ACLs", () =>
            client.createAcls({
              acl: acls.map((a) => ({
                resourceType: ACL_RESOURCE_TOPIC,
                resourceName: a.topic,
                resourcePatternType: PATTERN_LITERAL,
                principal: a.principal,
                host: a.host,
                operation: ACL_OPERATIONS.indexOf(a.operation) as K.AclOperationTypes,
                permissionType: a.permission === "deny" ? ACL_PERMISSION_DENY : ACL_PERMISSION_ALLOW
              }))
            })).pipe(Effect.asVoid),
        requests: Effect.sync(() => requests + groupOps.requests())
      } satisfies Effect.Effect.Success<ReturnType<KafkaClient["Type"]["admin"]>>
    })

  const producer = (c: ConnectionSettings, s: ProducerSettings) =>
    Effect.gen(function*() {
      const client = makeKafka(kafkajs, c, log).producer({
        allowAutoTopicCreation: false,
        idempotent: false,
        // one request in flight: a retried request can never overtake a later one
        maxInFlightRequests: 1,
        // kafkajs silently skips partitions its cached metadata does not know (a remote topic
        // that just grew); the writer detects the missing acknowledgement and retries, and a
        // short metadata age makes that retry see the new partitions within seconds
        metadataMaxAge: 5_000,
        createPartitioner: () => ({ message }) => (message as { partition?: number }).partition ?? 0
      })
      const operations = makeOperations()
      yield* Effect.acquireRelease(
        call(c.cluster, "connect producer", () => client.connect()),
        () => closeWithin("5 seconds", () => client.disconnect(), operations)
      )
      const compression = compressionCode(kafkajs, s.compression)
      const send = (writes: ReadonlyArray<PartitionWrite>) => {
        // one topicMessages entry per topic, pre-grouped by partition: no per-record work here
        const byTopic = new Map<string, Record<number, PartitionWrite["records"]>>()
        for (const w of writes) {
          let g = byTopic.get(w.topic)
          if (g === undefined) byTopic.set(w.topic, g = {})
          g[w.partition] = w.records
        }
        const topicMessages: Array<K.TopicMessages> = []
        for (const [topic, grouped] of byTopic) {
          // an empty array carrying its grouping: kafkajs's validation scans it, our patched grouping uses it
          const messages = Object.assign([] as Array<K.Message>, { [PRE_GROUPED]: grouped })
          topicMessages.push({ topic, messages })
        }
        return call(c.cluster, "produce", () =>
          client.sendBatch({ topicMessages, acks: s.acks, timeout: s.requestTimeoutMs, compression }), writes[0]?.topic, operations).pipe(
            Effect.map((meta) =>
              meta.map((m) => ({ topic: m.topicName, partition: m.partition, baseOffset: m.baseOffset ?? "-1" }))
            )
          )
      }
      return { send } satisfies KafkaProducer
    })

  const consumer = (c: ConnectionSettings, o: ConsumerOptions) =>
    Effect.gen(function*() {
      const kafka = makeKafka(kafkajs, c, log)
      const onOutOfRange = o.onOffsetOutOfRange
      if (onOutOfRange !== undefined) {
        // called by kafkajs's fetch loop (only then, so runPromise below exists by then)
        onOffsetOutOfRange(kafka, (p) => runPromise(Effect.map(onOutOfRange(p), toDecision)))
      }
      const { onRevoking, onAssigned } = o
      if (onRevoking !== undefined || onAssigned !== undefined) {
        // called by kafkajs's (re)joins, which only happen once the consumer runs
        onRebalance(kafka, {
          revoking: (owned) => (onRevoking === undefined ? Promise.resolve() : runPromise(onRevoking(owned))),
          assigned: (assigned, generation) => (onAssigned === undefined ? Promise.resolve() : runPromise(onAssigned(assigned, generation)))
        })
      }
      // fetch sizes follow the compression ratio, so what a fetch decodes stays within the budget
      const sizing = o.fetchBudgetBytes === undefined ? undefined : FetchSizing.make({
        budgetBytes: o.fetchBudgetBytes,
        maxPartitionBytes: o.maxBytesPerPartition ?? DEFAULT_MAX_PARTITION_FETCH_BYTES
      })
      if (sizing !== undefined) onFetch(kafka, (nodeId) => sizing.sizes(nodeId, Date.now()))
      const client = kafka.consumer({
        groupId: o.groupId,
        allowAutoTopicCreation: false,
        // after a kill -9 the dead member holds its partitions until its session expires: keep
        // that short (we heartbeat every 3 s even while a batch waits for queue space)
        sessionTimeout: 10_000,
        heartbeatInterval: 1_000,
        rebalanceTimeout: 30_000,
        readUncommitted: !(o.readCommitted ?? false),
        ...(o.maxBytesPerPartition !== undefined ? { maxBytesPerPartition: o.maxBytesPerPartition } : {}),
        ...(o.maxWaitTimeMs !== undefined ? { maxWaitTimeInMs: o.maxWaitTimeMs } : {}),
        // a crash is reported to us instead of restarting silently: our supervisor restarts the reader
        retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 5, restartOnFailure: async () => false }
      })
      const crash = yield* Deferred.make<never, KafkaError>()
      client.on(client.events.CRASH, (event) => {
        Deferred.unsafeDone(crash, Effect.fail(toKafkaError(c.cluster, "consume")(event.payload.error)))
      })
      const operations = makeOperations()
      yield* Effect.acquireRelease(
        call(c.cluster, "connect consumer", () => client.connect()),
        () => closeWithin("10 seconds", () => client.disconnect(), operations)
      )
      yield* call(c.cluster, "subscribe", () => client.subscribe({ topics: [...o.topics], fromBeginning: o.fromBeginning }), undefined, operations)
      const runPromise = yield* FiberSet.makeRuntimePromise<never>()
      const start = (onBatch: (batch: FetchedBatch) => Effect.Effect<void>) =>
        call(c.cluster, "start consumer", () => {
          const running = client.run({
            autoCommit: false,
            eachBatchAutoResolve: true,
            partitionsConsumedConcurrently: o.partitionsConsumedConcurrently,
            eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
              if (!isRunning() || isStale() || batch.messages.length === 0) return
              // kafkajs heartbeats only between batches; keep the session alive while we wait
              const beat = setInterval(() => {
                heartbeat().catch(() => undefined)
              }, 3_000)
              const records = batch.messages as unknown as ReadonlyArray<KafkaRecord>
              // measured once per batch, for the reader's budget and the ratio fetch sizes follow
              const bytes = sizing === undefined ? undefined : decodedBytes(records)
              const fetched = sizing === undefined ? undefined : fetchedBytesOf(batch)
              if (bytes !== undefined && fetched !== undefined) sizing?.observe(fetched, bytes)
              try {
                await runPromise(onBatch({
                  topic: batch.topic,
                  partition: batch.partition,
                  records,
                  highWatermark: batch.highWatermark,
                  ...(bytes !== undefined ? { bytes } : {})
                }))
              } finally {
                clearInterval(beat)
              }
            }
          })
          // run() has made its consumer group synchronously: seeks and pauses given now apply
          // before its first fetch
          for (const s of o.startAt ?? []) client.seek({ topic: s.topic, partition: s.partition, offset: s.offset })
          if (o.paused !== undefined && o.paused.length > 0) {
            client.pause(o.paused.map((p) => ({ topic: p.topic, partitions: [p.partition] })))
          }
          return running
        }, undefined, operations)
      return {
        start,
        crashed: Deferred.await(crash),
        stop: closeWithin(Duration.seconds(10), () => client.stop()),
        commit: (offsets) =>
          offsets.length === 0 ? Effect.void : call(c.cluster, "commit offsets", () =>
            client.commitOffsets(offsets.map((x) => ({ topic: x.topic, partition: x.partition, offset: x.offset, metadata: x.metadata ?? null }))), undefined, operations)
      } satisfies KafkaConsumer
    })

  const groupMember = (c: ConnectionSettings, o: GroupMemberOptions) =>
    Effect.gen(function*() {
      const kafka = makeKafka(kafkajs, c, log)
      const { member, close } = makeGroupMember(kafka, c.cluster, o, (operation) => toKafkaError(c.cluster, operation))
      yield* Effect.addFinalizer(() => closeWithin("5 seconds", close))
      return member
    })

  return KafkaClient.of({ admin, producer, consumer, groupMember })
})

/** The kafkajs-backed KafkaClient. */
export const layer: Layer.Layer<KafkaClient> = Layer.effect(KafkaClient, make)
