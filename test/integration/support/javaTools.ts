/**
 * Kafka's own Java command-line tools (e.g. `org.apache.kafka.tools.ProducerPerformance`) as a
 * scoped child process, run from the same jars as the test brokers. Tests use them where only the
 * standard Java client shows a behaviour (its batching, its codecs' framing).
 *
 * The JVM is SIGKILLed (and awaited) when the scope closes first, pass or fail, and when the test
 * worker exits without closing it: no tool JVM outlives its test.
 */
import { spawn } from "node:child_process"
import { killWithWorker } from "./children.js"
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Data, Duration, Effect, type Scope } from "effect"
import { javaExecutable, type KafkaJarsError, kafkaMajorVersion, lastLines, resolveKafkaLibs } from "../../../harness/KafkaJars.js"
import { logConfigFlag, TOOL_JVM_FLAGS, TOOLS_LOG4J2, TOOLS_RELOAD4J } from "../../../harness/KafkaCluster.js"

/** The tool exited with a non-zero code or a signal, or could not be started. */
export class JavaToolFailedError extends Data.TaggedError("JavaToolFailedError")<{
  readonly mainClass: string
  readonly exitCode: number | null
  readonly signal: string | null
  /** last lines of stdout and stderr, interleaved */
  readonly outputTail: ReadonlyArray<string>
  readonly message: string
}> {}

/** The tool did not exit within its timeout (it was killed). */
export class JavaToolTimeoutError extends Data.TaggedError("JavaToolTimeoutError")<{
  readonly mainClass: string
  readonly timeoutMillis: number
  readonly outputTail: ReadonlyArray<string>
  readonly message: string
}> {}

export interface JavaToolResult {
  readonly stdout: string
  /** stdout and stderr, interleaved */
  readonly output: string
  readonly millis: number
}

const MAX_CAPTURE = 1024 * 1024
const TAIL_LINES = 40

/** A working dir (logging config, a crashed JVM's hs_err file) deleted with the scope. */
const workDir: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(() => fsp.mkdtemp(path.join(os.tmpdir(), "effect-mm2-tool-"))),
  (dir) => Effect.promise(() => fsp.rm(dir, { recursive: true, force: true }))
)

/**
 * Runs `java <TOOL_JVM_FLAGS> -cp <kafka libs> <mainClass> <args>` to completion and returns its
 * output. Fails with JavaToolFailedError (exit code and output tail) unless it exits 0, and with
 * JavaToolTimeoutError (after killing it) when it runs longer than `timeout` (default 60 s).
 */
export const runJavaTool = (
  mainClass: string,
  args: ReadonlyArray<string>,
  options: {
    readonly timeout?: Duration.DurationInput
    /** another classpath than the brokers' jars (e.g. Java MM2's client library); no logging config then */
    readonly classpath?: string
  } = {}
): Effect.Effect<JavaToolResult, JavaToolFailedError | JavaToolTimeoutError | KafkaJarsError, Scope.Scope> =>
  Effect.gen(function*() {
    const dir = yield* workDir
    const logging: Array<string> = []
    let classpath = options.classpath
    if (classpath === undefined) {
      const libs = yield* resolveKafkaLibs()
      const major = yield* kafkaMajorVersion(libs.version)
      const logConfig = path.join(dir, major >= 4 ? "log4j2.properties" : "log4j.properties")
      yield* Effect.promise(() => fsp.writeFile(logConfig, major >= 4 ? TOOLS_LOG4J2 : TOOLS_RELOAD4J))
      logging.push(logConfigFlag(major, logConfig))
      classpath = libs.classpath
    }
    const javaArgs = [...TOOL_JVM_FLAGS, ...logging, "-cp", classpath, mainClass, ...args]

    let stdout = ""
    let output = ""
    const append = (chunk: string, toStdout: boolean) => {
      output = (output + chunk).slice(-MAX_CAPTURE)
      if (toStdout) stdout = (stdout + chunk).slice(-MAX_CAPTURE)
    }
    const tail = () => lastLines(output, TAIL_LINES)
    const t0 = Date.now()

    type Ended = { readonly code: number | null; readonly signal: string | null } | { readonly error: Error }
    const { child, ended } = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const child = spawn(javaExecutable(), javaArgs, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] })
        killWithWorker(child)
        child.stdout.setEncoding("utf8").on("data", (s: string) => append(s, true))
        child.stderr.setEncoding("utf8").on("data", (s: string) => append(s, false))
        // listeners attached at once: an "error" without a listener would crash the worker.
        // "close" (not "exit") fires once the pipes are drained, so the output is complete.
        const ended = new Promise<Ended>((resolve) => {
          child.once("error", (error) => resolve({ error }))
          child.once("close", (code, signal) => resolve({ code, signal }))
        })
        return { child, ended }
      }),
      ({ child }) =>
        Effect.async<void>((resume) => {
          if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resume(Effect.void)
          child.once("exit", () => resume(Effect.void))
          child.kill("SIGKILL")
        }).pipe(Effect.timeout("20 seconds"), Effect.ignore)
    )

    const timeout = Duration.decode(options.timeout ?? Duration.seconds(60))
    const end = yield* Effect.promise(() => ended).pipe(
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () =>
          new JavaToolTimeoutError({
            mainClass,
            timeoutMillis: Duration.toMillis(timeout),
            outputTail: tail(),
            message: `${mainClass} did not exit within ${Duration.format(timeout)} (killed); last output:\n${tail().join("\n")}`
          })
      }),
      // kill at once rather than when the scope closes: the caller is about to fail anyway
      Effect.tapError(() => Effect.sync(() => child.kill("SIGKILL")))
    )
    if ("error" in end) {
      return yield* new JavaToolFailedError({
        mainClass,
        exitCode: null,
        signal: null,
        outputTail: tail(),
        message: `cannot start ${javaExecutable()} for ${mainClass}: ${end.error.message}`
      })
    }
    const status = end
    if (status.code !== 0) {
      return yield* new JavaToolFailedError({
        mainClass,
        exitCode: status.code,
        signal: status.signal,
        outputTail: tail(),
        message: `${mainClass} ${args.join(" ")} exited with ${status.code ?? status.signal}; last output:\n${tail().join("\n")}`
      })
    }
    return { stdout, output, millis: Date.now() - t0 }
  })
