/**
 * Turns MM2-style client properties (`bootstrap.servers`, `security.protocol`, `sasl.*`, `ssl.*`,
 * `acks`, `compression.type`, `auto.offset.reset`, ...) into typed, client-neutral settings.
 *
 * Every problem of a client is reported at once, by client key; the config layer renames keys to
 * the line the user wrote. Java-only options (JKS stores, GSSAPI) are rejected by name instead of
 * being ignored. PEM files are read here, so a missing file is found before anything connects.
 * No message ever repeats a secret value.
 */
import { Data, Either } from "effect"
import * as fs from "node:fs"
import * as Jaas from "./Jaas.js"

export type ClientProps = ReadonlyMap<string, string>

export type SaslSettings = {
  readonly mechanism: "plain" | "scram-sha-256" | "scram-sha-512"
  readonly username: string
  readonly password: string
}

export interface TlsSettings {
  readonly ca?: ReadonlyArray<string>
  readonly cert?: string
  readonly key?: string
  readonly passphrase?: string
  readonly rejectUnauthorized: boolean
  readonly checkServerIdentity: boolean
}

export interface ConnectionSettings {
  /** alias of the cluster, used in error messages and client ids */
  readonly cluster: string
  /** `host:port` entries, each checked */
  readonly brokers: ReadonlyArray<string>
  readonly clientId: string
  readonly tls?: TlsSettings
  readonly sasl?: SaslSettings
  readonly connectionTimeoutMs: number
  readonly requestTimeoutMs: number
}

export type Compression = "none" | "gzip" | "snappy" | "lz4" | "zstd"
export const COMPRESSIONS: ReadonlyArray<Compression> = ["none", "gzip", "snappy", "lz4", "zstd"]

export interface ProducerSettings {
  /** -1 (all), 0 or 1 */
  readonly acks: -1 | 0 | 1
  readonly compression: Compression
  readonly requestTimeoutMs: number
  /** upper bound of one produce request's record bytes; batches are split below it */
  readonly maxRequestBytes: number
}

export type AutoOffsetReset = "earliest" | "latest" | "none"

export interface ConsumerSettings {
  /** where a partition without committed progress starts */
  readonly autoOffsetReset: AutoOffsetReset
  /** `isolation.level = read_committed` */
  readonly readCommitted: boolean
  /** `max.partition.fetch.bytes`, when set */
  readonly maxPartitionFetchBytes?: number
}

/** One problem with one client key (`key` is the key without client prefix, e.g. `acks`). */
export interface ClientIssue {
  readonly key: string
  readonly message: string
}

/** A client configuration we cannot turn into a working client; lists every problem. */
export class InvalidClientSettings extends Data.TaggedError("InvalidClientSettings")<{
  readonly cluster: string
  readonly issues: ReadonlyArray<ClientIssue>
}> {
  override get message(): string {
    return this.issues.map((i) => `${this.cluster}: ${i.key}: ${i.message}`).join("\n")
  }
}

const quote = (s: string): string => JSON.stringify(s)

/** Collects issues; `finish` yields the value only when none was found. */
class Checker {
  readonly issues: Array<ClientIssue> = []
  constructor(readonly cluster: string, readonly props: ClientProps) {}

  fail(key: string, message: string): undefined {
    this.issues.push({ key, message })
    return undefined
  }

  /** A non-negative integer (`min` and up), or `dflt` when absent. */
  int(key: string, dflt: number, min = 0): number {
    const raw = this.props.get(key)
    if (raw === undefined) return dflt
    const n = Number(raw.trim())
    if (raw.trim() !== "" && Number.isSafeInteger(n) && n >= min) return n
    this.fail(key, `expected an integer of at least ${min}, got ${quote(raw)}`)
    return dflt
  }

  /** One of `allowed` (compared in lower case), or `dflt` when absent. */
  oneOf<const A extends string>(key: string, allowed: ReadonlyArray<A>, dflt: A): A {
    const raw = this.props.get(key)
    if (raw === undefined) return dflt
    const hit = allowed.find((a) => a === raw.trim().toLowerCase())
    if (hit !== undefined) return hit
    this.fail(key, `expected one of ${allowed.join(", ")}, got ${quote(raw)}`)
    return dflt
  }

  finish<A>(value: () => A): Either.Either<A, InvalidClientSettings> {
    return this.issues.length === 0
      ? Either.right(value())
      : Either.left(new InvalidClientSettings({ cluster: this.cluster, issues: this.issues }))
  }
}

/** Java's `host:port` form (an IPv6 host in brackets), with a port Java's sockets accept. */
const checkAddress = (entry: string): string | undefined => {
  const m = /^(\[[0-9a-fA-F:.%\w]+\]|[^\s:[\]]+):(\d+)$/.exec(entry)
  if (m === null) return `${quote(entry)} is not host:port`
  const port = Number(m[2])
  if (port < 1 || port > 65535) return `port ${m[2]} of ${quote(entry)} is out of range (1-65535)`
  return undefined
}

const CONVERT_HINT =
  "convert it to PEM (keytool -importkeystore -srckeystore store.jks -destkeystore store.p12 -deststoretype PKCS12, " +
  "then openssl pkcs12 -in store.p12 -nokeys -out ca.pem for certificates and -nocerts -nodes for a key) " +
  "and set ssl.truststore.type / ssl.keystore.type = PEM"

const readPem = (c: Checker, key: string, path: string, needs: ReadonlyArray<"CERTIFICATE" | "PRIVATE KEY">): string | undefined => {
  let text: string
  try {
    text = fs.readFileSync(path, "utf8")
  } catch (e) {
    const code = typeof e === "object" && e !== null && "code" in e ? String(e.code) : ""
    return c.fail(key, `cannot read ${path}${code === "ENOENT" ? ": no such file" : `: ${e instanceof Error ? e.message : String(e)}`}`)
  }
  if (!text.includes("-----BEGIN ")) return c.fail(key, `${path} is not a PEM file (a JKS or PKCS12 store?); ${CONVERT_HINT}`)
  for (const what of needs) {
    if (!new RegExp(`-----BEGIN [A-Z ]*${what}-----`).test(text)) return c.fail(key, `${path} holds no PEM ${what.toLowerCase()}`)
  }
  return text
}

const tlsSettings = (c: Checker): TlsSettings => {
  for (const key of ["ssl.truststore.type", "ssl.keystore.type"]) {
    const t = c.props.get(key)
    if (t !== undefined && t.trim().toUpperCase() !== "PEM") c.fail(key, `${t.trim()} stores are not supported, only PEM; ${CONVERT_HINT}`)
  }
  const ca: Array<string> = []
  const inlineCa = c.props.get("ssl.truststore.certificates")
  if (inlineCa !== undefined) ca.push(inlineCa)
  const caFile = c.props.get("ssl.truststore.location")
  if (caFile !== undefined) {
    const pem = readPem(c, "ssl.truststore.location", caFile.trim(), ["CERTIFICATE"])
    if (pem !== undefined) ca.push(pem)
  }
  let cert = c.props.get("ssl.keystore.certificate.chain")
  let key = c.props.get("ssl.keystore.key")
  const keystore = c.props.get("ssl.keystore.location")
  if (keystore !== undefined) {
    // a PEM keystore file holds the private key and the certificate chain together
    const pem = readPem(c, "ssl.keystore.location", keystore.trim(), ["CERTIFICATE", "PRIVATE KEY"])
    cert ??= pem
    key ??= pem
  }
  const passphrase = c.props.get("ssl.key.password")
  const identification = c.props.get("ssl.endpoint.identification.algorithm")
  return {
    ...(ca.length > 0 ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(passphrase !== undefined ? { passphrase } : {}),
    rejectUnauthorized: true,
    // Java's default is "https" (verify the host name); an empty value turns it off.
    checkServerIdentity: identification === undefined || identification.trim() !== ""
  }
}

const MECHANISMS: ReadonlyMap<string, SaslSettings["mechanism"]> = new Map([
  ["PLAIN", "plain"],
  ["SCRAM-SHA-256", "scram-sha-256"],
  ["SCRAM-SHA-512", "scram-sha-512"]
])

const saslSettings = (c: Checker): SaslSettings | undefined => {
  // Java's default mechanism is GSSAPI (Kerberos), which no Node client speaks
  const mechanism = (c.props.get("sasl.mechanism") ?? "GSSAPI").trim().toUpperCase()
  const m = MECHANISMS.get(mechanism)
  if (m === undefined) {
    c.fail("sasl.mechanism", `${mechanism} is not supported (supported: ${[...MECHANISMS.keys()].join(", ")})${c.props.has("sasl.mechanism") ? "" : "; Java's default is GSSAPI, so set it"}`)
  }
  const jaas = c.props.get("sasl.jaas.config")
  if (jaas === undefined) return c.fail("sasl.jaas.config", `is required for SASL ${mechanism}, e.g. org.apache.kafka.common.security.scram.ScramLoginModule required username="..." password="...";`)
  const entry = Jaas.parse(jaas)
  if (Either.isLeft(entry)) return c.fail("sasl.jaas.config", `malformed JAAS configuration: ${entry.left}`)
  const username = entry.right.options.get("username")
  const password = entry.right.options.get("password")
  if (username === undefined || password === undefined) {
    return c.fail("sasl.jaas.config", "must set username=\"...\" and password=\"...\"")
  }
  return m === undefined ? undefined : { mechanism: m, username, password }
}

const PROTOCOLS = ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"] as const

export const connectionSettings = (
  cluster: string,
  props: ClientProps,
  clientId: string
): Either.Either<ConnectionSettings, InvalidClientSettings> => {
  const c = new Checker(cluster, props)
  const bootstrap = props.get("bootstrap.servers")
  const brokers = bootstrap === undefined ? [] : bootstrap.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
  if (brokers.length === 0) c.fail("bootstrap.servers", "is required")
  for (const b of brokers) {
    const problem = checkAddress(b)
    if (problem !== undefined) c.fail("bootstrap.servers", problem)
  }
  const protocol = c.oneOf("security.protocol", PROTOCOLS, "plaintext")
  const tls = protocol.endsWith("ssl") ? tlsSettings(c) : undefined
  const sasl = protocol.startsWith("sasl") ? saslSettings(c) : undefined
  const connectionTimeoutMs = c.int("socket.connection.setup.timeout.ms", 10_000)
  const requestTimeoutMs = c.int("request.timeout.ms", 30_000)
  const userClientId = props.get("client.id")
  return c.finish(() => ({
    cluster,
    brokers,
    clientId: userClientId === undefined ? clientId : `${userClientId}|${clientId}`,
    ...(tls !== undefined ? { tls } : {}),
    ...(sasl !== undefined ? { sasl } : {}),
    connectionTimeoutMs,
    requestTimeoutMs
  }))
}

const ACKS: ReadonlyMap<string, ProducerSettings["acks"]> = new Map([["all", -1], ["-1", -1], ["1", 1], ["0", 0]])

export const producerSettings = (cluster: string, props: ClientProps): Either.Either<ProducerSettings, InvalidClientSettings> => {
  const c = new Checker(cluster, props)
  const rawAcks = props.get("acks") ?? "all"
  const acks = ACKS.get(rawAcks.trim().toLowerCase())
  if (acks === undefined) c.fail("acks", `expected one of all, -1, 0, 1, got ${quote(rawAcks)}`)
  const compression = c.oneOf("compression.type", COMPRESSIONS, "none")
  const requestTimeoutMs = c.int("request.timeout.ms", 30_000)
  const maxRequestBytes = c.int("max.request.size", 1_048_576, 1)
  return c.finish(() => ({ acks: acks ?? -1, compression, requestTimeoutMs, maxRequestBytes }))
}

export const consumerSettings = (cluster: string, props: ClientProps): Either.Either<ConsumerSettings, InvalidClientSettings> => {
  const c = new Checker(cluster, props)
  // MM2 defaults its consumers to earliest (see config/ClientConfig.ts); Java's own default is latest
  const autoOffsetReset = c.oneOf("auto.offset.reset", ["earliest", "latest", "none"] as const, "earliest")
  const isolation = c.oneOf("isolation.level", ["read_uncommitted", "read_committed"] as const, "read_uncommitted")
  const maxPartitionFetchBytes = props.has("max.partition.fetch.bytes") ? c.int("max.partition.fetch.bytes", 1_048_576, 1) : undefined
  return c.finish(() => ({
    autoOffsetReset,
    readCommitted: isolation === "read_committed",
    ...(maxPartitionFetchBytes !== undefined ? { maxPartitionFetchBytes } : {})
  }))
}
