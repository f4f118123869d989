/**
 * Starts a real single-node Kafka (KRaft, combined broker+controller on 127.0.0.1) as an Effect
 * scoped resource, for integration tests and the demo. The JVM runs from the jars resolved by
 * ./KafkaJars.ts; everything the node writes lives in one run directory under
 * `os.tmpdir()/effect-mm2-kafka/` that is deleted when the scope closes.
 *
 * With `security` the client listener is secured (SASL_PLAINTEXT, SSL or SASL_SSL, SCRAM and PLAIN
 * users, optionally the StandardAuthorizer; kafka-from-maven.md §4); TLS material is generated
 * into the run dir at start (./Certificates.ts). Without it the broker is exactly the plaintext one.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { Context, Data, Deferred, Duration, Effect, ExecutionStrategy, Exit, Layer, Schedule, Scope } from "effect"
import { type BrokerCertificates, type CertificateError, generateBrokerCertificates } from "./Certificates.js"
import { type LatencyProxyError, makeLatencyProxy } from "./LatencyProxy.js"
import {
  io,
  JavaNotFoundError,
  javaExecutable,
  type KafkaJarsError,
  KafkaJarsIoError,
  type KafkaLibs,
  kafkaMajorVersion,
  lastLines,
  resolveKafkaLibs,
  runCollect
} from "./KafkaJars.js"

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export interface KafkaClusterPorts {
  readonly client: number
  readonly controller: number
}

export interface KafkaClusterOptions {
  /** Used in the run directory name and in messages; e.g. "primary". */
  readonly name: string
  /** Kafka release; default `KAFKA_VERSION` env or DEFAULT_KAFKA_VERSION. */
  readonly version?: string
  /** Fixed ports. Without them free ports are picked, and a start that loses a port race is retried. */
  readonly ports?: KafkaClusterPorts
  /** Extra `server.properties` entries, appended last (so they win over the defaults). */
  readonly serverProperties?: Readonly<Record<string, string>>
  /** How long to wait for readiness; default 90 s. */
  readonly startTimeout?: Duration.DurationInput
  /** A secured client listener (SASL and/or TLS, optionally an authorizer); default plaintext, no auth. */
  readonly security?: KafkaClusterSecurityOptions
  /**
   * A far-away broker: a LatencyProxy (./LatencyProxy.ts) in front of the client listener adds
   * `rttMs` to every round trip, and the broker advertises the proxy, so clients stay behind it
   * after metadata. A second, undelayed PLAINTEXT listener (`latency.directBootstrapServers`)
   * serves set-up work that should stay fast (unauthenticated: with an authorizer it has no rights).
   */
  readonly latency?: { readonly rttMs: number }
}

/** The protocol of a secured client listener. */
export type KafkaSecurityProtocol = "SSL" | "SASL_PLAINTEXT" | "SASL_SSL"

export type KafkaSaslMechanism = "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512"

/** Every mechanism a SASL client listener enables. */
export const SASL_MECHANISMS: ReadonlyArray<KafkaSaslMechanism> = ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"]

export interface KafkaClusterUser {
  /** letters, digits, `_`, `-` */
  readonly name: string
  /** letters, digits and `_ - . ~ +` (they go unescaped into JAAS lines and `--add-scram`) */
  readonly password: string
}

/**
 * A secured broker (kafka-from-maven.md §4). The client listener speaks `protocol`; the
 * controller listener is always SASL_PLAINTEXT/PLAIN, and the broker's own controller and
 * inter-broker connections log in as the super user `admin`.
 */
export interface KafkaClusterSecurityOptions {
  readonly protocol: KafkaSecurityProtocol
  /**
   * Users besides `admin` (SASL protocols): SCRAM-SHA-256 and SCRAM-SHA-512 credentials created at
   * format time, and PLAIN entries in the client listener's JAAS.
   */
  readonly users?: ReadonlyArray<KafkaClusterUser>
  /** The super user's password; default a random one (see `KafkaClusterSecurityInfo.admin`). */
  readonly adminPassword?: string
  /**
   * StandardAuthorizer, deny when no ACL matches, `super.users=User:admin` (with protocol SSL also
   * the broker certificate's principal, which the broker's inter-broker connections use).
   */
  readonly authorizer?: boolean
  /** What generates the TLS material; default openssl when it runs, else the JDK's keytool. */
  readonly certificateTool?: "openssl" | "keytool"
}

export interface KafkaClusterSecurityInfo {
  readonly protocol: KafkaSecurityProtocol
  /** SASL mechanisms of the client listener; empty with SSL (clients are then `User:ANONYMOUS`). */
  readonly saslMechanisms: ReadonlyArray<KafkaSaslMechanism>
  /** The super user (also what the broker itself logs in as on the controller listener). */
  readonly admin: KafkaClusterUser
  /** The users given in the options. */
  readonly users: ReadonlyArray<KafkaClusterUser>
  readonly authorizer: boolean
  /** `User:...` principals in `super.users` (empty without an authorizer). */
  readonly superUsers: ReadonlyArray<string>
  /** With SSL / SASL_SSL: the CA that signed the broker certificate (PEM), for clients' truststores. */
  readonly tls?: { readonly caFile: string; readonly generatedWith: "openssl" | "keytool" }
}

export interface KafkaClusterInfo {
  readonly name: string
  /** `127.0.0.1:<client port>` */
  readonly bootstrapServers: string
  readonly version: string
  readonly clientPort: number
  readonly controllerPort: number
  readonly clusterId: string
  /** Everything of this node lives here; deleted on release. */
  readonly runDir: string
  readonly dataDir: string
  /** The broker's log4j output (`server.log`). */
  readonly logFile: string
  /** The JVM's own stdout/stderr. */
  readonly stdoutFile: string
  readonly pid: number
  /** Wall time from spawning the storage formatter to readiness. */
  readonly startupMillis: number
  readonly libs: KafkaLibs
  /** Present when started with `security`; see `clientSecurityProperties` for client settings. */
  readonly security?: KafkaClusterSecurityInfo
  /** Present when started with `latency`; `bootstrapServers` is then the proxy's address. */
  readonly latency?: KafkaClusterLatencyInfo
}

export interface KafkaClusterLatencyInfo {
  readonly rttMs: number
  /** the proxy's port, which the client listener advertises */
  readonly proxyPort: number
  /** `127.0.0.1:<port>` of the undelayed PLAINTEXT listener (advertises itself) */
  readonly directBootstrapServers: string
  /** client connections through the proxy accepted so far */
  readonly proxiedConnections: () => number
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

export class KafkaStorageFormatError extends Data.TaggedError("KafkaStorageFormatError")<{
  readonly name: string
  readonly exitCode: number | null
  readonly outputTail: ReadonlyArray<string>
  readonly message: string
}> {}

export class KafkaBrokerExitedError extends Data.TaggedError("KafkaBrokerExitedError")<{
  readonly name: string
  readonly exitCode: number | null
  readonly signal: string | null
  readonly logTail: ReadonlyArray<string>
  readonly message: string
}> {}

export class KafkaPortInUseError extends Data.TaggedError("KafkaPortInUseError")<{
  readonly name: string
  readonly ports: KafkaClusterPorts
  /** The log line reporting the failed bind. */
  readonly bindError: string
  readonly logTail: ReadonlyArray<string>
  readonly message: string
}> {}

export class KafkaStartTimeoutError extends Data.TaggedError("KafkaStartTimeoutError")<{
  readonly name: string
  readonly timeoutMillis: number
  readonly logTail: ReadonlyArray<string>
  readonly message: string
}> {}

export class KafkaNoFreePortError extends Data.TaggedError("KafkaNoFreePortError")<{
  readonly attempts: number
  readonly message: string
}> {}

export class KafkaSecurityOptionsError extends Data.TaggedError("KafkaSecurityOptionsError")<{
  readonly name: string
  /** the offending user name (never a password) */
  readonly user: string
  readonly message: string
}> {}

export type KafkaClusterError =
  | KafkaJarsError
  | CertificateError
  | KafkaSecurityOptionsError
  | KafkaStorageFormatError
  | KafkaBrokerExitedError
  | KafkaPortInUseError
  | KafkaStartTimeoutError
  | KafkaNoFreePortError
  | LatencyProxyError

// ---------------------------------------------------------------------------------------------
// Orphan protection
// ---------------------------------------------------------------------------------------------

/*
 * NO JVM MAY OUTLIVE ITS PARENT. Scope finalizers stop the broker on success, failure and
 * interruption, but they never run when the Node process is SIGKILLed (vitest killing a hung
 * worker, the OOM killer, a developer's kill -9) or dies from an unhandled signal. A leaked broker
 * keeps ~0.5 GB, its ports and its run dir forever and makes later runs flaky, so two more layers:
 *
 *  1. `process.on("exit")` SIGKILLs every broker still alive when Node exits normally or via
 *     process.exit() without the scope having been closed.
 *  2. A watchdog per broker: a tiny detached `sh` loop (no JVM, ~1 MB) that checks once a second
 *     whether the Node process is still alive and, when it is gone, SIGKILLs the broker and
 *     deletes its run dir. It is the only layer that survives a SIGKILL of Node. It exits by itself
 *     once the broker is gone, and the normal release path kills it. (Linux has no portable way to
 *     get a "parent died" signal from Node; prctl(PR_SET_PDEATHSIG) is not reachable.)
 *
 * Node is checked through /proc/<pid>/stat so that a killed-but-not-yet-reaped (zombie) parent
 * counts as dead; `kill -0` is the fallback where /proc does not exist.
 */
const WATCHDOG_SCRIPT = `
parent="$1"; jvm="$2"; dir="$3"; keep="$4"
alive() {
  if [ -r "/proc/$1/stat" ]; then
    s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ -n "$s" ] && [ "$s" != Z ] && [ "$s" != X ]
  else
    kill -0 "$1" 2>/dev/null
  fi
}
while alive "$jvm"; do
  if ! alive "$parent"; then
    kill -KILL "$jvm" 2>/dev/null
    n=0
    while alive "$jvm" && [ "$n" -lt 50 ]; do sleep 0.2; n=$((n+1)); done
    [ "$keep" = 1 ] || rm -rf -- "$dir"
    exit 0
  fi
  sleep 1
done
`

/** Brokers (JVM pids) this process started and has not seen exit yet. */
const liveBrokers = new Set<number>()
let exitHookInstalled = false

const trackBroker = (pid: number): void => {
  if (!exitHookInstalled) {
    exitHookInstalled = true
    // Synchronous by necessity ("exit" handlers cannot await). Only the JVMs are killed: their
    // watchdogs notice Node is gone a second later and delete the run dirs.
    process.on("exit", () => {
      for (const p of liveBrokers) {
        try {
          process.kill(p, "SIGKILL")
        } catch {
          // already gone
        }
      }
    })
  }
  liveBrokers.add(pid)
}

const killQuietly = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(pid, signal)
  } catch {
    // ESRCH: already gone, which is what we want
  }
}

const keepData = (): boolean => process.env["EFFECT_MM2_KEEP_KAFKA_DATA"] === "1"

// ---------------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------------

/*
 * Ports come from 20000-31999, below Linux's ephemeral range (32768-60999). Binding port 0 would
 * hand out an ephemeral port, and between our probe closing it and Kafka binding it any outgoing
 * connection on the machine may grab it as its local port. A random port in a low range is only
 * contended by other listeners, and losing that race is detected ("Address already in use") and
 * retried with new ports.
 */
const PORT_LOW = 20000
const PORT_HIGH = 32000
/** Ports handed to a broker of this process that has not been released yet (two brokers start concurrently). */
const reservedPorts = new Set<number>()

const canBind = (port: number): Effect.Effect<boolean> =>
  Effect.async<boolean>((resume) => {
    const server = net.createServer()
    server.once("error", () => resume(Effect.succeed(false)))
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => {
      server.close(() => resume(Effect.succeed(true)))
    })
  })

const pickPort: Effect.Effect<number, KafkaNoFreePortError> = Effect.gen(function* () {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = PORT_LOW + Math.floor(Math.random() * (PORT_HIGH - PORT_LOW))
    if (reservedPorts.has(port)) continue
    reservedPorts.add(port) // before the async bind probe, so a concurrent pick skips it
    if (yield* canBind(port)) return port
    reservedPorts.delete(port)
  }
  return yield* new KafkaNoFreePortError({ attempts: 50, message: `no bindable port found in ${PORT_LOW}-${PORT_HIGH - 1} on 127.0.0.1` })
})

/** Two free ports, reserved in this process until the scope closes. */
const reservePorts: Effect.Effect<KafkaClusterPorts, KafkaNoFreePortError, Scope.Scope> = Effect.acquireRelease(
  Effect.gen(function* () {
    const client = yield* pickPort
    const controller = yield* Effect.onError(pickPort, () => Effect.sync(() => reservedPorts.delete(client)))
    return { client, controller }
  }),
  (p) =>
    Effect.sync(() => {
      reservedPorts.delete(p.client)
      reservedPorts.delete(p.controller)
    })
)

/** One more free port (the DIRECT listener of a proxied broker), reserved until the scope closes. */
const reservePort: Effect.Effect<number, KafkaNoFreePortError, Scope.Scope> = Effect.acquireRelease(
  pickPort,
  (p) => Effect.sync(() => reservedPorts.delete(p))
)

const canConnect = (port: number): Effect.Effect<boolean> =>
  Effect.async<boolean>((resume) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    const done = (ok: boolean) => {
      socket.destroy()
      resume(Effect.succeed(ok))
    }
    socket.setTimeout(2000, () => done(false))
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
    return Effect.sync(() => socket.destroy())
  })

// ---------------------------------------------------------------------------------------------
// Config files
// ---------------------------------------------------------------------------------------------

/** Kafka's own `random-uuid`: 16 random bytes, base64url without padding, never starting with '-' (it would parse as a CLI flag). */
export const generateClusterId = (): string => {
  for (;;) {
    const id = randomBytes(16).toString("base64url")
    if (!id.startsWith("-")) return id
  }
}

/** What `renderServerProperties` needs to know of a secured broker (validated users, generated certificates). */
export interface ServerSecurity {
  readonly protocol: KafkaSecurityProtocol
  readonly admin: KafkaClusterUser
  readonly users: ReadonlyArray<KafkaClusterUser>
  readonly authorizer: boolean
  /** required for SSL / SASL_SSL */
  readonly certificates?: BrokerCertificates
}

const isSasl = (protocol: KafkaSecurityProtocol): boolean => protocol.startsWith("SASL_")

/** Inside a JAAS quoted value only `\` and `"` need escaping. */
const jaasQuote = (s: string): string => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`

const plainLogin = (login: KafkaClusterUser, database: ReadonlyArray<KafkaClusterUser>): string =>
  "org.apache.kafka.common.security.plain.PlainLoginModule required " +
  [`username=${jaasQuote(login.name)}`, `password=${jaasQuote(login.password)}`, ...database.map((u) => `user_${u.name}=${jaasQuote(u.password)}`)].join(" ") +
  ";"

const scramLogin = (login: KafkaClusterUser): string =>
  `org.apache.kafka.common.security.scram.ScramLoginModule required username=${jaasQuote(login.name)} password=${jaasQuote(login.password)};`

/** `User:` principals with every right (the broker's own connections must be among them). */
const superUsersOf = (s: Pick<ServerSecurity, "protocol" | "admin" | "authorizer" | "certificates">): ReadonlyArray<string> =>
  !s.authorizer
    ? []
    : [`User:${s.admin.name}`, ...(s.protocol === "SSL" && s.certificates !== undefined ? [`User:${s.certificates.brokerDn}`] : [])]

/** The secured part of `server.properties` (kafka-from-maven.md §4, plus TLS). */
const securityEntries = (s: ServerSecurity): ReadonlyArray<readonly [string, string]> => {
  const listener = s.protocol.toLowerCase()
  const out: Array<readonly [string, string]> = [
    // controller traffic: PLAIN only (SCRAM credentials live in the metadata log the controller
    // serves), the broker logs in as admin; every principal talking to the controller must be a super user
    ["sasl.mechanism.controller.protocol", "PLAIN"],
    ["listener.name.controller.sasl.enabled.mechanisms", "PLAIN"],
    ["listener.name.controller.plain.sasl.jaas.config", plainLogin(s.admin, [s.admin])]
  ]
  if (isSasl(s.protocol)) {
    out.push(
      ["sasl.enabled.mechanisms", SASL_MECHANISMS.join(",")],
      // inter-broker over PLAIN: start-up never depends on SCRAM records
      ["sasl.mechanism.inter.broker.protocol", "PLAIN"],
      [`listener.name.${listener}.plain.sasl.jaas.config`, plainLogin(s.admin, [s.admin, ...s.users])],
      [`listener.name.${listener}.scram-sha-256.sasl.jaas.config`, scramLogin(s.admin)],
      [`listener.name.${listener}.scram-sha-512.sasl.jaas.config`, scramLogin(s.admin)]
    )
  }
  if (s.certificates !== undefined) {
    const ks = s.certificates.keystore
    out.push(["ssl.keystore.type", ks.type], ["ssl.keystore.location", ks.location])
    if (ks.type === "PKCS12") out.push(["ssl.keystore.password", ks.password], ["ssl.key.password", ks.password])
    // the broker's own inter-broker connections (e.g. transaction markers) must trust it too
    out.push(["ssl.truststore.type", "PEM"], ["ssl.truststore.location", s.certificates.caFile])
    // SSL without SASL: the broker presents its certificate to itself and so gets a principal
    // (super.users) instead of User:ANONYMOUS; clients without a certificate are still accepted
    if (s.protocol === "SSL") out.push(["ssl.client.auth", "requested"])
  }
  if (s.authorizer) {
    out.push(
      ["authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer"],
      ["super.users", superUsersOf(s).join(";")],
      ["allow.everyone.if.no.acl.found", "false"]
    )
  }
  return out
}

/** `server.properties` for a combined node on loopback, per kafka-from-maven.md §3.3 (and §4 when secured). */
export const renderServerProperties = (args: {
  readonly major: 3 | 4
  readonly ports: KafkaClusterPorts
  readonly dataDir: string
  readonly extra?: Readonly<Record<string, string>>
  readonly security?: ServerSecurity
  /** The client listener advertises `advertisedPort` (a proxy); a DIRECT plaintext listener on `directPort` advertises itself. */
  readonly proxied?: { readonly advertisedPort: number; readonly directPort: number }
}): string => {
  const { client, controller } = args.ports
  const proto = args.security?.protocol ?? "PLAINTEXT"
  const controllerProto = args.security === undefined ? "PLAINTEXT" : "SASL_PLAINTEXT"
  const direct = args.proxied === undefined ? "" : `,DIRECT://127.0.0.1:${args.proxied.directPort}`
  const entries: Array<readonly [string, string]> = [
    ["process.roles", "broker,controller"],
    ["node.id", "1"],
    // static quorum: identical on 3.9 and 4.x, needs no format flag (kraft.version=0)
    ["controller.quorum.voters", `1@127.0.0.1:${controller}`],
    ["controller.listener.names", "CONTROLLER"],
    // the client listener is named after its protocol, so JAAS keys are listener.name.<protocol>.*
    ["listeners", `${proto}://127.0.0.1:${client}${direct},CONTROLLER://127.0.0.1:${controller}`],
    ["advertised.listeners", `${proto}://127.0.0.1:${args.proxied?.advertisedPort ?? client}${direct}`],
    ["inter.broker.listener.name", proto],
    ["listener.security.protocol.map", `${proto}:${proto}${direct === "" ? "" : ",DIRECT:PLAINTEXT"},CONTROLLER:${controllerProto}`],
    ["log.dirs", args.dataDir],
    // small and fast for tests: internal topics with one partition make the first group /
    // transaction coordinator lookup quick and the data dir tiny
    ["num.partitions", "1"],
    ["default.replication.factor", "1"],
    ["offsets.topic.replication.factor", "1"],
    ["offsets.topic.num.partitions", "1"],
    ["transaction.state.log.replication.factor", "1"],
    ["transaction.state.log.min.isr", "1"],
    ["transaction.state.log.num.partitions", "1"],
    ["group.initial.rebalance.delay.ms", "0"],
    // deterministic tests: MM2 creates its topics through the admin API
    ["auto.create.topics.enable", "false"],
    // 4.x rejects < 1 MiB (KIP-1030)
    ["log.segment.bytes", String(16 * 1024 * 1024)],
    // default would take 128 MiB of a 512 MiB heap
    ["log.cleaner.dedupe.buffer.size", String(8 * 1024 * 1024)],
    ["num.network.threads", "2"],
    ["num.io.threads", "4"],
    ["num.recovery.threads.per.data.dir", "1"]
  ]
  if (args.major >= 4) {
    // keys do not exist in 3.x (would only warn, but keep the 3.x file clean)
    entries.push(
      ["share.coordinator.state.topic.replication.factor", "1"],
      ["share.coordinator.state.topic.min.isr", "1"],
      ["share.coordinator.state.topic.num.partitions", "1"]
    )
  }
  if (args.security !== undefined) entries.push(...securityEntries(args.security))
  for (const [k, v] of Object.entries(args.extra ?? {})) entries.push([k, v])
  return entries.map(([k, v]) => `${k}=${v}`).join("\n") + "\n"
}

// Kafka's tarball logging configs are not on Maven Central; these are small equivalents. Both
// flavours take the directory from -Dkafka.logs.dir, which is therefore always passed.
const BROKER_LOG4J2 = `status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = \${sys:kafka.logs.dir:-.}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.req.name = kafka.request.logger
logger.req.level = WARN
logger.reqch.name = kafka.network.RequestChannel$
logger.reqch.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
`

/** Short-lived tool JVMs (here and in tests): warnings and errors only, on stderr. */
export const TOOLS_LOG4J2 = `status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
`

const BROKER_RELOAD4J = `log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=\${kafka.logs.dir}/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.network.RequestChannel$=WARN
log4j.logger.state.change.logger=WARN
`

export const TOOLS_RELOAD4J = `log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
`

/** The JVM flag selecting a logging config file: Log4j 2 on 4.x, reload4j (needs a URL) on 3.x. */
export const logConfigFlag = (major: 3 | 4, file: string): string =>
  major >= 4 ? `-Dlog4j2.configurationFile=${file}` : `-Dlog4j.configuration=file:${file}`

/** Short-lived CLI JVMs: small heap, C1 only (starts faster, never runs long enough for C2). */
export const TOOL_JVM_FLAGS: ReadonlyArray<string> = ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]

/** Functional-test broker: far below kafka-server-start's 1 GiB, two of them fit a small CI box. */
export const BROKER_JVM_FLAGS: ReadonlyArray<string> = [
  "-Xms256m",
  "-Xmx512m",
  "-XX:+UseSerialGC",
  "-XX:+ExitOnOutOfMemoryError",
  "-Djava.awt.headless=true"
]

// ---------------------------------------------------------------------------------------------
// The broker process
// ---------------------------------------------------------------------------------------------

interface ExitInfo {
  readonly exitCode: number | null
  readonly signal: string | null
}

interface BrokerProcess {
  readonly pid: number
  readonly child: ChildProcess
  readonly exited: Deferred.Deferred<ExitInfo>
  /** Set synchronously on exit, so the readiness probe can check it without blocking. */
  readonly state: { exit: ExitInfo | undefined }
  readonly watchdogPid: number | undefined
}

const readTail = (file: string, n: number): Effect.Effect<ReadonlyArray<string>> =>
  Effect.promise(() => fsp.readFile(file, "utf8").catch(() => "")).pipe(Effect.map((t) => lastLines(t, n)))

const logTail = (logFile: string, stdoutFile: string): Effect.Effect<ReadonlyArray<string>> =>
  Effect.map(Effect.all([readTail(logFile, 30), readTail(stdoutFile, 30)]), ([log, out]) => [
    `--- ${logFile} (last ${log.length} lines)`,
    ...log,
    `--- ${stdoutFile} (last ${out.length} lines)`,
    ...out
  ])

const spawnBroker = (args: {
  readonly name: string
  readonly javaArgs: ReadonlyArray<string>
  readonly runDir: string
  readonly stdoutFile: string
}): Effect.Effect<BrokerProcess, JavaNotFoundError | KafkaJarsIoError> =>
  Effect.gen(function* () {
    const exited = yield* Deferred.make<ExitInfo>()
    const java = javaExecutable()
    // stdout/stderr go straight to a file, not through a pipe to Node: a broker must not depend
    // on Node draining a pipe (and must not die of EPIPE if Node goes away first).
    const out = yield* io("open", args.stdoutFile, () => fsp.open(args.stdoutFile, "a"))
    const child = yield* Effect.async<ChildProcess, JavaNotFoundError | KafkaJarsIoError>((resume) => {
      const c = spawn(java, [...args.javaArgs], {
        cwd: args.runDir, // hs_err_pid*.log of a crashed JVM lands in the run dir and is deleted with it
        stdio: ["ignore", out.fd, out.fd]
      })
      c.once("spawn", () => resume(Effect.succeed(c)))
      c.once("error", (cause) => {
        const code = typeof cause === "object" && "code" in cause ? cause.code : undefined
        resume(
          Effect.fail(
            code === "ENOENT"
              ? new JavaNotFoundError({ executable: java, message: `cannot start Kafka ${args.name}: "${java}" not found` })
              : new KafkaJarsIoError({ operation: "spawn", path: java, cause, message: `cannot start Kafka ${args.name}: ${cause.message}` })
          )
        )
      })
    }).pipe(Effect.ensuring(Effect.promise(() => out.close())))
    const pid = child.pid ?? -1
    const state: { exit: ExitInfo | undefined } = { exit: undefined }
    trackBroker(pid)
    child.once("exit", (exitCode, signal) => {
      state.exit = { exitCode, signal }
      liveBrokers.delete(pid)
      Deferred.unsafeDone(exited, Exit.succeed(state.exit))
    })
    // Let Node exit even if a scope was never closed; the exit hook and watchdog then clean up.
    child.unref()

    const watchdog = spawn(
      "sh",
      ["-c", WATCHDOG_SCRIPT, "effect-mm2-watchdog", String(process.pid), String(pid), args.runDir, keepData() ? "1" : "0"],
      // own process group: killing -pid takes its `sleep` along; survives signals sent to ours
      { detached: true, stdio: "ignore" }
    )
    watchdog.once("error", (cause) => {
      // not fatal: finalizers and the exit hook still stop the broker in every non-SIGKILL case
      Effect.runFork(Effect.logWarning(`Kafka ${args.name}: watchdog failed to start: ${cause.message}`))
    })
    watchdog.unref()
    return { pid, child, exited, state, watchdogPid: watchdog.pid }
  })

/** SIGTERM (Kafka's controlled shutdown), up to 15 s, then SIGKILL; finally the watchdog. */
const stopBroker = (name: string, p: BrokerProcess): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (p.state.exit === undefined) {
      const t0 = Date.now()
      killQuietly(p.pid, "SIGTERM")
      const graceful = yield* Deferred.await(p.exited).pipe(Effect.timeout(Duration.seconds(15)), Effect.option)
      if (graceful._tag === "None") {
        yield* Effect.logWarning(`Kafka ${name} (pid ${p.pid}) ignored SIGTERM for 15 s, sending SIGKILL`)
        killQuietly(p.pid, "SIGKILL")
        yield* Deferred.await(p.exited).pipe(Effect.timeout(Duration.seconds(10)), Effect.ignore)
      }
      yield* Effect.logDebug(`Kafka ${name} (pid ${p.pid}) stopped in ${Date.now() - t0} ms`)
    }
    if (p.watchdogPid !== undefined) killQuietly(-p.watchdogPid, "SIGKILL")
  })

// ---------------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------------

/** Internal: readiness not reached yet, poll again. */
class NotReady extends Data.TaggedError("NotReady")<{ readonly reason: string }> {}

const RUN_ROOT = path.join(os.tmpdir(), "effect-mm2-kafka")

/** The run dir; deleted on release unless EFFECT_MM2_KEEP_KAFKA_DATA=1. */
const makeRunDir = (name: string): Effect.Effect<string, KafkaJarsIoError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      yield* io("mkdir", RUN_ROOT, () => fsp.mkdir(RUN_ROOT, { recursive: true }))
      const safe = name.replace(/[^A-Za-z0-9_.-]/g, "_")
      return yield* io("mkdtemp", RUN_ROOT, () => fsp.mkdtemp(path.join(RUN_ROOT, `${safe}-`)))
    }),
    (dir) =>
      keepData()
        ? Effect.logInfo(`EFFECT_MM2_KEEP_KAFKA_DATA=1: keeping ${dir}`)
        : Effect.promise(() => fsp.rm(dir, { recursive: true, force: true }))
  )

// ---------------------------------------------------------------------------------------------
// Security
// ---------------------------------------------------------------------------------------------

const USER_NAME = /^[A-Za-z0-9_-]+$/
// unescaped in `--add-scram` (which cannot quote commas) and JAAS lines: keep to a safe alphabet
const USER_PASSWORD = /^[A-Za-z0-9_.~+-]+$/

const ADMIN = "admin"

/** The super user and the other users, checked; passwords never appear in an error. */
const checkSecurity = (
  name: string,
  o: KafkaClusterSecurityOptions
): Effect.Effect<{ readonly admin: KafkaClusterUser; readonly users: ReadonlyArray<KafkaClusterUser> }, KafkaSecurityOptionsError> =>
  Effect.gen(function* () {
    const fail = (user: string, problem: string) =>
      new KafkaSecurityOptionsError({ name, user, message: `Kafka ${name}: user ${JSON.stringify(user)}: ${problem}` })
    // random by default: a test that greps its output for secrets then has one nobody could guess
    const admin: KafkaClusterUser = { name: ADMIN, password: o.adminPassword ?? `admin-${randomBytes(12).toString("base64url")}` }
    const users = o.users ?? []
    const first = users[0]
    if (first !== undefined && !isSasl(o.protocol)) return yield* fail(first.name, `users need a SASL protocol, not ${o.protocol}`)
    const seen = new Set<string>([ADMIN])
    for (const u of [admin, ...users]) {
      if (!USER_NAME.test(u.name)) return yield* fail(u.name, "a name may only hold letters, digits, '_' and '-'")
      if (!USER_PASSWORD.test(u.password)) return yield* fail(u.name, "a password may only hold letters, digits and '_-.~+'")
      if (u !== admin && seen.has(u.name)) return yield* fail(u.name, u.name === ADMIN ? "admin is the built-in super user" : "given twice")
      seen.add(u.name)
    }
    return { admin, users }
  })

/** StorageTool arguments creating SCRAM credentials (both mechanisms) for every user. */
const addScramArgs = (users: ReadonlyArray<KafkaClusterUser>): ReadonlyArray<string> =>
  users.flatMap((u) =>
    SASL_MECHANISMS.filter((m) => m.startsWith("SCRAM")).flatMap((m) => ["--add-scram", `${m}=[name=${u.name},password=${u.password}]`])
  )

const LOGIN_MODULES: Readonly<Record<KafkaSaslMechanism, string>> = {
  "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
  "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
  "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule"
}

/**
 * Java client properties (`security.protocol`, `sasl.*`, `ssl.truststore.*`) to reach `info`'s
 * client listener as `user` (default the super user) with `mechanism` (default SCRAM-SHA-512).
 * Empty for an unsecured cluster. Prefix the keys with `<alias>.` for an mm2.properties file.
 */
export const clientSecurityProperties = (
  info: Pick<KafkaClusterInfo, "security">,
  options: { readonly user?: KafkaClusterUser; readonly mechanism?: KafkaSaslMechanism } = {}
): Record<string, string> => {
  const sec = info.security
  if (sec === undefined) return {}
  const props: Record<string, string> = { "security.protocol": sec.protocol }
  if (isSasl(sec.protocol)) {
    const mechanism = options.mechanism ?? "SCRAM-SHA-512"
    const user = options.user ?? sec.admin
    props["sasl.mechanism"] = mechanism
    props["sasl.jaas.config"] = `${LOGIN_MODULES[mechanism]} required username=${jaasQuote(user.name)} password=${jaasQuote(user.password)};`
  }
  if (sec.tls !== undefined) {
    props["ssl.truststore.type"] = "PEM"
    props["ssl.truststore.location"] = sec.tls.caFile
  }
  return props
}

/** Checked users and, for TLS, certificates generated into the run dir (deleted with it: never a committed key). */
const prepareSecurity = (
  name: string,
  runDir: string,
  o: KafkaClusterSecurityOptions
): Effect.Effect<ServerSecurity, KafkaSecurityOptionsError | CertificateError> =>
  Effect.gen(function* () {
    const { admin, users } = yield* checkSecurity(name, o)
    const certificates = o.protocol.endsWith("SSL")
      ? yield* generateBrokerCertificates(path.join(runDir, "tls"), o.certificateTool !== undefined ? { tool: o.certificateTool } : {})
      : undefined
    return {
      protocol: o.protocol,
      admin,
      users,
      authorizer: o.authorizer ?? false,
      ...(certificates !== undefined ? { certificates } : {})
    }
  })

const startOnce = (
  options: KafkaClusterOptions,
  libs: KafkaLibs,
  major: 3 | 4
): Effect.Effect<KafkaClusterInfo, KafkaClusterError, Scope.Scope> =>
  Effect.gen(function* () {
    const { name } = options
    const t0 = Date.now()
    const ports = options.ports ?? (yield* reservePorts)
    // the proxy is acquired before the broker, so it closes after it
    const latency = options.latency === undefined ? undefined : {
      rttMs: options.latency.rttMs,
      directPort: yield* reservePort,
      proxy: yield* makeLatencyProxy({ target: { host: "127.0.0.1", port: ports.client }, rttMs: options.latency.rttMs })
    }
    const runDir = yield* makeRunDir(name)
    const security = options.security === undefined ? undefined : yield* prepareSecurity(name, runDir, options.security)
    const dataDir = path.join(runDir, "data")
    const logsDir = path.join(runDir, "logs")
    const logFile = path.join(logsDir, "server.log")
    const stdoutFile = path.join(logsDir, "stdout.log")
    const propsFile = path.join(runDir, "server.properties")
    const brokerLogCfg = path.join(runDir, major >= 4 ? "broker-log4j2.properties" : "broker-log4j.properties")
    const toolsLogCfg = path.join(runDir, major >= 4 ? "tools-log4j2.properties" : "tools-log4j.properties")

    yield* io("mkdir", logsDir, () => fsp.mkdir(logsDir, { recursive: true }))
    yield* io("write", propsFile, () =>
      fsp.writeFile(
        propsFile,
        renderServerProperties({
          major,
          ports,
          dataDir,
          ...(options.serverProperties ? { extra: options.serverProperties } : {}),
          ...(security !== undefined ? { security } : {}),
          ...(latency !== undefined ? { proxied: { advertisedPort: latency.proxy.port, directPort: latency.directPort } } : {})
        })
      )
    )
    yield* io("write", brokerLogCfg, () => fsp.writeFile(brokerLogCfg, major >= 4 ? BROKER_LOG4J2 : BROKER_RELOAD4J))
    yield* io("write", toolsLogCfg, () => fsp.writeFile(toolsLogCfg, major >= 4 ? TOOLS_LOG4J2 : TOOLS_RELOAD4J))

    // format: writes meta.properties + bootstrap checkpoint into the data dir
    const clusterId = generateClusterId()
    const java = javaExecutable()
    const fmt = yield* runCollect(
      java,
      [...TOOL_JVM_FLAGS, logConfigFlag(major, toolsLogCfg), "-cp", libs.classpath, "kafka.tools.StorageTool", "format", "-t", clusterId, "-c", propsFile,
        // SASL: credentials in the bootstrap metadata, live from the first start
        ...(security !== undefined && isSasl(security.protocol) ? addScramArgs([security.admin, ...security.users]) : [])],
      {
        cwd: runDir,
        onMissing: () => new JavaNotFoundError({ executable: java, message: `cannot format Kafka ${name}: "${java}" not found` }),
        onError: (cause) =>
          new KafkaStorageFormatError({ name, exitCode: null, outputTail: [String(cause)], message: `cannot run StorageTool for ${name}: ${String(cause)}` })
      }
    )
    if (fmt.exitCode !== 0) {
      const outputTail = lastLines(fmt.output, 30)
      return yield* new KafkaStorageFormatError({
        name,
        exitCode: fmt.exitCode,
        outputTail,
        message: `StorageTool format for Kafka ${name} exited with ${fmt.exitCode ?? fmt.signal}:\n${outputTail.join("\n")}`
      })
    }

    const broker = yield* Effect.acquireRelease(
      spawnBroker({
        name,
        runDir,
        stdoutFile,
        javaArgs: [
          ...BROKER_JVM_FLAGS,
          `-Dkafka.logs.dir=${logsDir}`,
          logConfigFlag(major, brokerLogCfg),
          "-cp",
          libs.classpath,
          "kafka.Kafka",
          propsFile
        ]
      }),
      (p) => stopBroker(name, p)
    )

    // Readiness = "Kafka Server started" (logged after the controller unfenced the broker) AND
    // the client port accepting TCP (with a fixed port the acceptor only opens once request
    // processing is enabled). An early JVM exit is fatal and reported with the log tails.
    const probe: Effect.Effect<void, NotReady | KafkaBrokerExitedError | KafkaPortInUseError> = Effect.gen(function* () {
      const exit = broker.state.exit
      if (exit !== undefined) {
        const tail = yield* logTail(logFile, stdoutFile)
        // the whole log, not the tail: the shutdown that follows a bind failure logs 30+ lines
        const full = yield* Effect.promise(() => fsp.readFile(logFile, "utf8").catch(() => ""))
        const bindError = full.split("\n").find((l) => l.includes("Address already in use"))
        if (bindError !== undefined) {
          return yield* new KafkaPortInUseError({
            name,
            ports,
            bindError: bindError.trim(),
            logTail: tail,
            message: `Kafka ${name}: port ${ports.client} or ${ports.controller} already in use: ${bindError.trim()}`
          })
        }
        return yield* new KafkaBrokerExitedError({
          name,
          exitCode: exit.exitCode,
          signal: exit.signal,
          logTail: tail,
          message: `Kafka ${name} (pid ${broker.pid}) exited during startup with ${exit.exitCode ?? exit.signal}:\n${tail.join("\n")}`
        })
      }
      const log = yield* Effect.promise(() => fsp.readFile(logFile, "utf8").catch(() => ""))
      if (!log.includes("Kafka Server started")) return yield* new NotReady({ reason: "no 'Kafka Server started' in server.log yet" })
      if (!(yield* canConnect(ports.client))) return yield* new NotReady({ reason: `port ${ports.client} not accepting yet` })
    })
    const timeout = Duration.decode(options.startTimeout ?? Duration.seconds(90))
    yield* probe.pipe(
      Effect.retry({
        while: (e) => e._tag === "NotReady",
        schedule: Schedule.spaced(Duration.millis(200)).pipe(Schedule.upTo(timeout))
      }),
      Effect.catchTag("NotReady", (e) =>
        Effect.flatMap(logTail(logFile, stdoutFile), (tail) =>
          Effect.fail(
            new KafkaStartTimeoutError({
              name,
              timeoutMillis: Duration.toMillis(timeout),
              logTail: tail,
              message: `Kafka ${name} not ready after ${Duration.format(timeout)} (${e.reason}):\n${tail.join("\n")}`
            })
          )
        )
      )
    )

    const info: KafkaClusterInfo = {
      name,
      bootstrapServers: latency === undefined ? `127.0.0.1:${ports.client}` : latency.proxy.address,
      version: libs.version,
      clientPort: ports.client,
      controllerPort: ports.controller,
      clusterId,
      runDir,
      dataDir,
      logFile,
      stdoutFile,
      pid: broker.pid,
      startupMillis: Date.now() - t0,
      libs,
      ...(security !== undefined
        ? {
          security: {
            protocol: security.protocol,
            saslMechanisms: isSasl(security.protocol) ? SASL_MECHANISMS : [],
            admin: security.admin,
            users: security.users,
            authorizer: security.authorizer,
            superUsers: superUsersOf(security),
            ...(security.certificates !== undefined
              ? { tls: { caFile: security.certificates.caFile, generatedWith: security.certificates.tool } }
              : {})
          }
        }
        : {}),
      ...(latency !== undefined
        ? {
          latency: {
            rttMs: latency.rttMs,
            proxyPort: latency.proxy.port,
            directBootstrapServers: `127.0.0.1:${latency.directPort}`,
            proxiedConnections: latency.proxy.accepted
          }
        }
        : {})
    }
    yield* Effect.logDebug(
      `Kafka ${name} ${info.version} ready at ${info.bootstrapServers}${security === undefined ? "" : ` (${security.protocol})`} (controller ${ports.controller}, pid ${info.pid}) in ${info.startupMillis} ms`
    )
    return info
  })

const MAX_PORT_ATTEMPTS = 5

/**
 * Start one node; it is stopped and its run dir deleted when the surrounding scope closes (also
 * on failure and interruption). With picked ports, a start that lost a port race is retried on
 * fresh ports; each attempt gets its own child scope so a failed attempt is cleaned up at once.
 */
export const makeKafkaCluster = (options: KafkaClusterOptions): Effect.Effect<KafkaClusterInfo, KafkaClusterError, Scope.Scope> =>
  Effect.gen(function* () {
    const libs = yield* resolveKafkaLibs(options.version)
    const major = yield* kafkaMajorVersion(libs.version)
    const outer = yield* Effect.scope
    const attempt = Effect.gen(function* () {
      const child = yield* Scope.fork(outer, ExecutionStrategy.sequential)
      return yield* startOnce(options, libs, major).pipe(
        Scope.extend(child),
        Effect.onExit((exit) => (Exit.isFailure(exit) ? Scope.close(child, exit) : Effect.void))
      )
    })
    return yield* attempt.pipe(
      Effect.retry({
        while: (e) => e._tag === "KafkaPortInUseError" && options.ports === undefined,
        times: MAX_PORT_ATTEMPTS - 1
      })
    )
  }).pipe(Effect.withSpan("KafkaCluster.make", { attributes: { name: options.name } }))

/** A running node as a service, for tests that prefer layers. */
export class KafkaCluster extends Context.Tag("effect-mm2/testing/KafkaCluster")<KafkaCluster, KafkaClusterInfo>() {
  static readonly make = makeKafkaCluster
  static readonly layer = (options: KafkaClusterOptions): Layer.Layer<KafkaCluster, KafkaClusterError> =>
    Layer.scoped(KafkaCluster, makeKafkaCluster(options))
}

export interface ClusterPair {
  readonly primary: KafkaClusterInfo
  readonly backup: KafkaClusterInfo
}

/** The two clusters every mirroring test needs. */
export const TestClusters = {
  /** Starts `primary` and `backup` concurrently (two JVMs in parallel); both stop with the scope. */
  makePair: (
    options: { readonly version?: string; readonly latency?: KafkaClusterOptions["latency"] } = {}
  ): Effect.Effect<ClusterPair, KafkaClusterError, Scope.Scope> =>
    Effect.gen(function* () {
      // resolve once up front so two concurrent starts never both run Maven
      const libs = yield* resolveKafkaLibs(options.version)
      const version = libs.version
      const latency = options.latency === undefined ? {} : { latency: options.latency }
      return yield* Effect.all(
        { primary: makeKafkaCluster({ name: "primary", version, ...latency }), backup: makeKafkaCluster({ name: "backup", version, ...latency }) },
        { concurrency: 2 }
      )
    })
} as const

/** Whether a pid still exists (zombies count as gone). For tests asserting a broker was stopped. */
export const isProcessAlive = (pid: number): boolean => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3)
    return state !== "Z" && state !== "X"
  } catch {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
}
