/**
 * Turns MM2-style client properties (`bootstrap.servers`, `security.protocol`, `sasl.*`, `ssl.*`,
 * `acks`, `compression.type`, ...) into client-neutral connection and producer settings.
 * Java-only options (JKS keystores, GSSAPI) are rejected by name instead of being ignored.
 */
import { Either } from "effect"
import * as fs from "node:fs"
import { KafkaConfigError } from "./KafkaError.js"

export type ClientProps = ReadonlyMap<string, string>

export type SaslSettings =
  | { readonly mechanism: "plain" | "scram-sha-256" | "scram-sha-512"; readonly username: string; readonly password: string }

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
  readonly brokers: ReadonlyArray<string>
  readonly clientId: string
  readonly tls?: TlsSettings
  readonly sasl?: SaslSettings
  readonly connectionTimeoutMs: number
  readonly requestTimeoutMs: number
}

export type Compression = "none" | "gzip" | "snappy" | "lz4" | "zstd"

export interface ProducerSettings {
  /** -1 (all), 0 or 1 */
  readonly acks: -1 | 0 | 1
  readonly compression: Compression
  readonly requestTimeoutMs: number
  /** upper bound of one produce request's record bytes; batches are split below it */
  readonly maxRequestBytes: number
}

const list = (v: string): Array<string> => v.split(/\s*,\s*/).map((s) => s.trim()).filter((s) => s.length > 0)

const int = (props: ClientProps, cluster: string, key: string, dflt: number): Either.Either<number, KafkaConfigError> => {
  const raw = props.get(key)
  if (raw === undefined) return Either.right(dflt)
  const n = Number(raw.trim())
  return Number.isInteger(n) && n >= 0
    ? Either.right(n)
    : Either.left(new KafkaConfigError({ cluster, key, detail: `expected a non-negative integer, got "${raw}"` }))
}

/** Reads `username="..." password="..."` out of a JAAS line; the login module decides the mechanism family. */
const parseJaas = (jaas: string): { module: string; options: Map<string, string> } => {
  const module = jaas.trim().split(/\s+/)[0] ?? ""
  const options = new Map<string, string>()
  for (const m of jaas.matchAll(/([A-Za-z_.]+)\s*=\s*"((?:[^"\\]|\\.)*)"/g)) {
    options.set(m[1]!, m[2]!.replace(/\\(.)/g, "$1"))
  }
  return { module, options }
}

const readPem = (cluster: string, key: string, path: string): Either.Either<string, KafkaConfigError> => {
  try {
    return Either.right(fs.readFileSync(path, "utf8"))
  } catch (e) {
    return Either.left(new KafkaConfigError({ cluster, key, detail: `cannot read ${path}: ${String(e)}` }))
  }
}

const tlsSettings = (props: ClientProps, cluster: string): Either.Either<TlsSettings, KafkaConfigError> =>
  Either.gen(function*() {
    for (const key of ["ssl.truststore.type", "ssl.keystore.type"]) {
      const t = props.get(key)
      if (t !== undefined && t.trim().toUpperCase() !== "PEM") {
        return yield* Either.left(new KafkaConfigError({ cluster, key, detail: `only PEM stores are supported (got ${t}); convert JKS/PKCS12 to PEM` }))
      }
    }
    const ca: Array<string> = []
    const inlineCa = props.get("ssl.truststore.certificates")
    if (inlineCa !== undefined) ca.push(inlineCa)
    const caFile = props.get("ssl.truststore.location")
    if (caFile !== undefined) ca.push(yield* readPem(cluster, "ssl.truststore.location", caFile))
    let cert = props.get("ssl.keystore.certificate.chain")
    let key = props.get("ssl.keystore.key")
    const keystore = props.get("ssl.keystore.location")
    if (keystore !== undefined) {
      // a PEM keystore file holds the private key and the certificate chain together
      const pem = yield* readPem(cluster, "ssl.keystore.location", keystore)
      cert ??= pem
      key ??= pem
    }
    const passphrase = props.get("ssl.key.password")
    const identification = props.get("ssl.endpoint.identification.algorithm")
    return {
      ...(ca.length > 0 ? { ca } : {}),
      ...(cert !== undefined ? { cert } : {}),
      ...(key !== undefined ? { key } : {}),
      ...(passphrase !== undefined ? { passphrase } : {}),
      rejectUnauthorized: true,
      // Java's default is "https" (verify the host name); an empty value turns it off.
      checkServerIdentity: identification === undefined || identification.trim() !== ""
    }
  })

const saslSettings = (props: ClientProps, cluster: string): Either.Either<SaslSettings, KafkaConfigError> => {
  const mechanism = (props.get("sasl.mechanism") ?? "GSSAPI").trim().toUpperCase()
  const jaas = props.get("sasl.jaas.config")
  const supported: Record<string, SaslSettings["mechanism"]> = {
    "PLAIN": "plain",
    "SCRAM-SHA-256": "scram-sha-256",
    "SCRAM-SHA-512": "scram-sha-512"
  }
  const m = supported[mechanism]
  if (m === undefined) {
    return Either.left(new KafkaConfigError({ cluster, key: "sasl.mechanism", detail: `${mechanism} is not supported (supported: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)` }))
  }
  if (jaas === undefined) {
    return Either.left(new KafkaConfigError({ cluster, key: "sasl.jaas.config", detail: `is required for SASL ${mechanism}` }))
  }
  const { options } = parseJaas(jaas)
  const username = options.get("username")
  const password = options.get("password")
  if (username === undefined || password === undefined) {
    return Either.left(new KafkaConfigError({ cluster, key: "sasl.jaas.config", detail: "must set username=\"...\" and password=\"...\"" }))
  }
  return Either.right({ mechanism: m, username, password })
}

export const connectionSettings = (
  cluster: string,
  props: ClientProps,
  clientId: string
): Either.Either<ConnectionSettings, KafkaConfigError> =>
  Either.gen(function*() {
    const bootstrap = props.get("bootstrap.servers")
    const brokers = bootstrap === undefined ? [] : list(bootstrap)
    if (brokers.length === 0) {
      return yield* Either.left(new KafkaConfigError({ cluster, key: "bootstrap.servers", detail: "is required" }))
    }
    const protocol = (props.get("security.protocol") ?? "PLAINTEXT").trim().toUpperCase()
    if (!["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"].includes(protocol)) {
      return yield* Either.left(new KafkaConfigError({ cluster, key: "security.protocol", detail: `unknown protocol ${protocol}` }))
    }
    const tls = protocol.endsWith("SSL") ? yield* tlsSettings(props, cluster) : undefined
    const sasl = protocol.startsWith("SASL") ? yield* saslSettings(props, cluster) : undefined
    const connectionTimeoutMs = yield* int(props, cluster, "socket.connection.setup.timeout.ms", 10_000)
    const requestTimeoutMs = yield* int(props, cluster, "request.timeout.ms", 30_000)
    const userClientId = props.get("client.id")
    return {
      cluster,
      brokers,
      clientId: userClientId === undefined ? clientId : `${userClientId}|${clientId}`,
      ...(tls !== undefined ? { tls } : {}),
      ...(sasl !== undefined ? { sasl } : {}),
      connectionTimeoutMs,
      requestTimeoutMs
    }
  })

export const producerSettings = (cluster: string, props: ClientProps): Either.Either<ProducerSettings, KafkaConfigError> =>
  Either.gen(function*() {
    const rawAcks = (props.get("acks") ?? "all").trim().toLowerCase()
    const acks = rawAcks === "all" || rawAcks === "-1" ? -1 : rawAcks === "1" ? 1 : rawAcks === "0" ? 0 : undefined
    if (acks === undefined) {
      return yield* Either.left(new KafkaConfigError({ cluster, key: "producer.acks", detail: `expected all, -1, 0 or 1, got "${rawAcks}"` }))
    }
    const rawCompression = (props.get("compression.type") ?? "none").trim().toLowerCase()
    const compressions: ReadonlyArray<Compression> = ["none", "gzip", "snappy", "lz4", "zstd"]
    const compression = compressions.find((c) => c === rawCompression)
    if (compression === undefined) {
      return yield* Either.left(new KafkaConfigError({ cluster, key: "producer.compression.type", detail: `expected one of ${compressions.join(", ")}, got "${rawCompression}"` }))
    }
    const requestTimeoutMs = yield* int(props, cluster, "request.timeout.ms", 30_000)
    const maxRequestBytes = yield* int(props, cluster, "max.request.size", 1_048_576)
    return { acks, compression, requestTimeoutMs, maxRequestBytes }
  })
