/**
 * Two secured Kafka clusters, started by a test file itself (globalSetup's shared pair stays
 * plaintext), and clients for them through the project's own KafkaClient:
 *
 *  - source: SASL_PLAINTEXT, SCRAM-SHA-256 / SCRAM-SHA-512 / PLAIN, StandardAuthorizer
 *  - target: SASL_SSL (a CA generated at test time; its PEM is `target.security.tls.caFile`),
 *            the same mechanisms, StandardAuthorizer
 *
 * Both have the super user `admin` (a random password per cluster) and the same extra users with
 * the same random passwords, which have no ACLs: a test grants what it needs. Both brokers stop,
 * and their run dirs (keys included) are deleted, when the caller's scope closes.
 */
import { randomBytes } from "node:crypto"
import { Data, type Duration, Effect, type Scope } from "effect"
import {
  clientSecurityProperties,
  type KafkaClusterError,
  type KafkaClusterInfo,
  type KafkaClusterUser,
  type KafkaSaslMechanism,
  makeKafkaCluster,
  resolveKafkaLibs
} from "../../../harness/index.js"
import { type ConnectionSettings, connectionSettings, producerSettings } from "../../../src/kafka/ClientSettings.js"
import { type KafkaAdmin, KafkaClient } from "../../../src/kafka/KafkaClient.js"
import type { KafkaError } from "../../../src/kafka/KafkaError.js"
import * as KafkaJsClient from "../../../src/kafka/KafkaJsClient.js"
import { type ByPartition, eventually, type OutRecord, readAllWith, renderProps, sum, toEndOffsets } from "./kafka.js"

export type SecuredSide = "source" | "target"

/** A check of a test client that did not hold (a topic already there, records missing). */
export class SecuredClientError extends Data.TaggedError("SecuredClientError")<{
  readonly cluster: string
  readonly topic: string
  readonly message: string
}> {}

export interface LoginOptions {
  /** a user of the pair (by name or as given), or any name/password (e.g. a wrong one); default admin */
  readonly user?: string | KafkaClusterUser
  /** default SCRAM-SHA-512 */
  readonly mechanism?: KafkaSaslMechanism
}

/** Our KafkaClient on one secured cluster, logged in as one user. */
export interface SecuredClient {
  readonly settings: (role: string) => Effect.Effect<ConnectionSettings>
  readonly withAdmin: <A, E>(f: (admin: KafkaAdmin) => Effect.Effect<A, E>) => Effect.Effect<A, E | KafkaError>
  readonly createTopic: (name: string, partitions: number) => Effect.Effect<void, KafkaError | SecuredClientError>
  readonly listTopics: Effect.Effect<ReadonlyArray<string>, KafkaError>
  /** `[partition, record]` pairs, order kept within each partition */
  readonly produce: (topic: string, records: ReadonlyArray<readonly [number, OutRecord]>) => Effect.Effect<void, KafkaError | SecuredClientError>
  readonly endOffsets: (topic: string) => Effect.Effect<ReadonlyArray<number>, KafkaError>
  /** waits until `topic` exists and its end offsets add up to at least `count` */
  readonly waitForCount: (topic: string, count: number, timeout?: Duration.DurationInput) => Effect.Effect<ReadonlyArray<number>, KafkaError | Error>
  /** every record of `topic` (a fresh group from the beginning) once `count` arrived, by partition */
  readonly readAll: (topic: string, count: number, timeout?: Duration.DurationInput) => Effect.Effect<ByPartition, Error>
}

export interface SecuredPair {
  readonly source: KafkaClusterInfo
  readonly target: KafkaClusterInfo
  /** the users besides admin, on both clusters with the same passwords */
  readonly users: ReadonlyArray<KafkaClusterUser>
  readonly cluster: (side: SecuredSide) => KafkaClusterInfo
  /** the super user of a cluster */
  readonly admin: (side: SecuredSide) => KafkaClusterUser
  /** every password of both clusters: none may ever be printed */
  readonly secrets: ReadonlyArray<string>
  /**
   * The `<alias>.`-prefixed mm2.properties entries (bootstrap.servers, security.protocol,
   * sasl.*, ssl.truststore.*) of cluster `side` under alias `alias`, logging in as `login.user`.
   */
  readonly clientProps: (alias: string, side: SecuredSide, login?: LoginOptions) => Record<string, string>
  /** the same as `.properties` text lines */
  readonly clientLines: (alias: string, side: SecuredSide, login?: LoginOptions) => string
  readonly client: (side: SecuredSide, login?: LoginOptions) => SecuredClient
}

const password = (what: string): string => `${what}-${randomBytes(12).toString("base64url")}`

/**
 * Starts both clusters concurrently, stopped with the caller's scope (pass or fail). `users`
 * are extra user names (default `alice`), each with a random password.
 */
export const startSecuredPair = (
  options: { readonly users?: ReadonlyArray<string>; readonly version?: string } = {}
): Effect.Effect<SecuredPair, KafkaClusterError, Scope.Scope> =>
  Effect.gen(function*() {
    const users = (options.users ?? ["alice"]).map((name) => ({ name, password: password(name) }))
    // resolve once, so two concurrent starts never both run Maven
    const { version } = yield* resolveKafkaLibs(options.version)
    const { source, target } = yield* Effect.all({
      source: makeKafkaCluster({ name: "secured-source", version, security: { protocol: "SASL_PLAINTEXT", users, authorizer: true } }),
      target: makeKafkaCluster({ name: "secured-target", version, security: { protocol: "SASL_SSL", users, authorizer: true } })
    }, { concurrency: 2 })
    return makePair(source, target, users)
  })

const makePair = (source: KafkaClusterInfo, target: KafkaClusterInfo, users: ReadonlyArray<KafkaClusterUser>): SecuredPair => {
  const cluster = (side: SecuredSide) => (side === "source" ? source : target)
  const admin = (side: SecuredSide): KafkaClusterUser => {
    const sec = cluster(side).security
    if (sec === undefined) throw new Error(`the ${side} cluster is not secured`)
    return sec.admin
  }
  const userOf = (side: SecuredSide, user: LoginOptions["user"]): KafkaClusterUser => {
    if (user === undefined) return admin(side)
    if (typeof user !== "string") return user
    const found = user === "admin" ? admin(side) : users.find((u) => u.name === user)
    // a test bug, not a test failure
    if (found === undefined) throw new Error(`no user ${user} on the secured clusters (users: admin, ${users.map((u) => u.name).join(", ")})`)
    return found
  }
  const harnessLogin = (side: SecuredSide, login: LoginOptions = {}) => ({
    user: userOf(side, login.user),
    ...(login.mechanism !== undefined ? { mechanism: login.mechanism } : {})
  })
  const clientProps = (alias: string, side: SecuredSide, login?: LoginOptions) =>
    Object.fromEntries(
      Object.entries({
        "bootstrap.servers": cluster(side).bootstrapServers,
        ...clientSecurityProperties(cluster(side), harnessLogin(side, login))
      }).map(([k, v]) => [`${alias}.${k}`, v])
    )
  return {
    source,
    target,
    users,
    cluster,
    admin,
    secrets: [admin("source").password, admin("target").password, ...users.map((u) => u.password)],
    clientProps,
    clientLines: (alias, side, login) => renderProps(clientProps(alias, side, login)),
    client: (side, login) => clusterClient(cluster(side), harnessLogin(side, login))
  }
}

// ---------------------------------------------------------------------------------------------
// clients (the same operations as support/kafka.ts, on any connection settings)
// ---------------------------------------------------------------------------------------------

/** Our KafkaClient on any harness cluster, with `clientSecurityProperties` (plus `extra` client properties). */
export const clusterClient = (
  info: KafkaClusterInfo,
  login: { readonly user?: KafkaClusterUser; readonly mechanism?: KafkaSaslMechanism } = {},
  extra: Readonly<Record<string, string>> = {}
): SecuredClient => {
  const props = new Map(Object.entries({ "bootstrap.servers": info.bootstrapServers, ...clientSecurityProperties(info, login), ...extra }))
  return makeClient(info.name, (role) => connectionSettings(info.name, props, `it-${role}`).pipe(Effect.orDie))
}

const makeClient = (name: string, settings: (role: string) => Effect.Effect<ConnectionSettings>): SecuredClient => {
  const withAdmin = <A, E>(f: (admin: KafkaAdmin) => Effect.Effect<A, E>): Effect.Effect<A, E | KafkaError> =>
    Effect.gen(function*() {
      const kafka = yield* KafkaClient
      return yield* f(yield* kafka.admin(yield* settings("admin")))
    }).pipe(Effect.scoped, Effect.provide(KafkaJsClient.layer))

  const endOffsets = (topic: string) => withAdmin((a) => a.fetchTopicOffsets(topic)).pipe(Effect.map(toEndOffsets))
  const listTopics = withAdmin((a) => a.listTopics)

  const waitForCount = (topic: string, count: number, timeout: Duration.DurationInput = "60 seconds") =>
    Effect.zipRight(
      eventually(`topic ${topic} on ${name}`, listTopics, (ts) => ts.includes(topic), { timeout }),
      eventually(`${count} records in ${topic} on ${name}`, endOffsets(topic), (os) => sum(os) >= count, { timeout })
    )

  const produce = (topic: string, records: ReadonlyArray<readonly [number, OutRecord]>) =>
    Effect.gen(function*() {
      const byPartition = new Map<number, Array<OutRecord>>()
      for (const [p, r] of records) byPartition.set(p, [...(byPartition.get(p) ?? []), r])
      const kafka = yield* KafkaClient
      const producer = yield* kafka.producer(yield* settings("producer"), yield* Effect.orDie(producerSettings(name, new Map())))
      const acks = yield* producer.send([...byPartition].map(([partition, rs]) => ({ topic, partition, records: rs })))
      if (acks.length !== byPartition.size) {
        return yield* new SecuredClientError({
          cluster: name,
          topic,
          message: `produce to ${topic} on ${name}: ${acks.length} of ${byPartition.size} partitions acknowledged`
        })
      }
    }).pipe(Effect.scoped, Effect.provide(KafkaJsClient.layer))

  const readAll = (topic: string, count: number, timeout: Duration.DurationInput = "60 seconds") =>
    Effect.flatMap(settings("reader"), (conn) => readAllWith(conn, topic, count, timeout))

  return {
    settings,
    withAdmin,
    createTopic: (topic, partitions) =>
      withAdmin((a) => a.createTopics([{ name: topic, partitions, replicationFactor: -1 }])).pipe(
        Effect.flatMap((created) =>
          created.includes(topic)
            ? Effect.void
            : Effect.fail(new SecuredClientError({ cluster: name, topic, message: `${topic} already exists on ${name}` }))
        )
      ),
    listTopics,
    produce,
    endOffsets,
    waitForCount,
    readAll
  }
}

/** Where in `text` any of `secrets` occurs (as `secret #i at line n`), for a failure message that itself repeats no secret. */
export const secretOccurrences = (text: string, secrets: ReadonlyArray<string>): ReadonlyArray<string> => {
  const found: Array<string> = []
  const lines = text.split("\n")
  secrets.forEach((s, i) => {
    lines.forEach((line, n) => {
      if (line.includes(s)) found.push(`secret #${i} at line ${n + 1}`)
    })
  })
  return found
}
