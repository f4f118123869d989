/**
 * Starts a real single-node Kafka (KRaft, combined broker+controller on 127.0.0.1) as an Effect
 * scoped resource, for integration tests and the demo. The JVM runs from the jars resolved by
 * ./KafkaJars.ts; everything the node writes lives in one run directory under
 * `os.tmpdir()/effect-mm2-kafka/` that is deleted when the scope closes.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { Context, Data, Deferred, Duration, Effect, ExecutionStrategy, Exit, Layer, Schedule, Scope } from "effect"
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

export type KafkaClusterError =
  | KafkaJarsError
  | KafkaStorageFormatError
  | KafkaBrokerExitedError
  | KafkaPortInUseError
  | KafkaStartTimeoutError
  | KafkaNoFreePortError

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

/** `server.properties` for a combined node on loopback, per kafka-from-maven.md §3.3. */
export const renderServerProperties = (args: {
  readonly major: 3 | 4
  readonly ports: KafkaClusterPorts
  readonly dataDir: string
  readonly extra?: Readonly<Record<string, string>>
}): string => {
  const { client, controller } = args.ports
  const entries: Array<readonly [string, string]> = [
    ["process.roles", "broker,controller"],
    ["node.id", "1"],
    // static quorum: identical on 3.9 and 4.x, needs no format flag (kraft.version=0)
    ["controller.quorum.voters", `1@127.0.0.1:${controller}`],
    ["controller.listener.names", "CONTROLLER"],
    ["listeners", `PLAINTEXT://127.0.0.1:${client},CONTROLLER://127.0.0.1:${controller}`],
    ["advertised.listeners", `PLAINTEXT://127.0.0.1:${client}`],
    ["inter.broker.listener.name", "PLAINTEXT"],
    ["listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"],
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

const startOnce = (
  options: KafkaClusterOptions,
  libs: KafkaLibs,
  major: 3 | 4
): Effect.Effect<KafkaClusterInfo, KafkaClusterError, Scope.Scope> =>
  Effect.gen(function* () {
    const { name } = options
    const t0 = Date.now()
    const ports = options.ports ?? (yield* reservePorts)
    const runDir = yield* makeRunDir(name)
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
        renderServerProperties({ major, ports, dataDir, ...(options.serverProperties ? { extra: options.serverProperties } : {}) })
      )
    )
    yield* io("write", brokerLogCfg, () => fsp.writeFile(brokerLogCfg, major >= 4 ? BROKER_LOG4J2 : BROKER_RELOAD4J))
    yield* io("write", toolsLogCfg, () => fsp.writeFile(toolsLogCfg, major >= 4 ? TOOLS_LOG4J2 : TOOLS_RELOAD4J))

    // format: writes meta.properties + bootstrap checkpoint into the data dir
    const clusterId = generateClusterId()
    const java = javaExecutable()
    const fmt = yield* runCollect(
      java,
      [...TOOL_JVM_FLAGS, logConfigFlag(major, toolsLogCfg), "-cp", libs.classpath, "kafka.tools.StorageTool", "format", "-t", clusterId, "-c", propsFile],
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
      bootstrapServers: `127.0.0.1:${ports.client}`,
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
      libs
    }
    yield* Effect.logDebug(
      `Kafka ${name} ${info.version} ready at ${info.bootstrapServers} (controller ${ports.controller}, pid ${info.pid}) in ${info.startupMillis} ms`
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
  makePair: (options: { readonly version?: string } = {}): Effect.Effect<ClusterPair, KafkaClusterError, Scope.Scope> =>
    Effect.gen(function* () {
      // resolve once up front so two concurrent starts never both run Maven
      const libs = yield* resolveKafkaLibs(options.version)
      const version = libs.version
      return yield* Effect.all(
        { primary: makeKafkaCluster({ name: "primary", version }), backup: makeKafkaCluster({ name: "backup", version }) },
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
