/**
 * Java MirrorMaker 2 itself (the dedicated-mode driver `org.apache.kafka.connect.mirror.MirrorMaker`
 * of connect-mirror 4.3.1 from Maven Central, with connect-runtime and the rest) as a scoped child
 * process, for migration tests: Java MM2 and effect-mm2 take turns on one mm2.properties.
 *
 * The jars are resolved with Maven once per pom (kafka/pom-mirror.xml) into
 * `<cache>/mirror-maker/<version>/libs` (git-ignored). The JVM is SIGKILLed (and awaited) when the
 * scope closes while it still runs, pass or fail, and when the test worker exits without closing
 * it; `stop` is the graceful way (SIGTERM: Connect stops its tasks and commits their offsets).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Duration, Effect, type Scope } from "effect"
import { cacheRoot, findRepoRoot, javaExecutable, lastLines, runCollect } from "../../../harness/KafkaJars.js"
import { killWithWorker } from "./children.js"
import { renderProps } from "./kafka.js"

/** Java MM2's jars are served at this version here. */
export const JAVA_MM2_VERSION = "4.3.1"

const MAIN_CLASS = "org.apache.kafka.connect.mirror.MirrorMaker"
const MAX_CAPTURE = 4 * 1024 * 1024

/**
 * Readable output: warnings and errors of everything, plus the few INFO lines that tell where
 * MM2 is (its driver and its tasks starting and stopping). `MM2_IT_JAVA_LOG=INFO` shows all.
 */
const log4j2 = (level: string) => `status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = ${level}
rootLogger.appenderRef.out.ref = STDOUT
logger.mm2.name = org.apache.kafka.connect.mirror.MirrorMaker
logger.mm2.level = INFO
logger.task.name = org.apache.kafka.connect.mirror.MirrorSourceTask
logger.task.level = INFO
`

/** The jars, resolved with Maven once per pom; returns the classpath (`<libs>/*`). */
export const mirrorMakerClasspath: Effect.Effect<string, Error> = Effect.gen(function*() {
  const root = yield* findRepoRoot()
  const pom = path.join(root, "kafka", "pom-mirror.xml")
  const hash = createHash("sha256").update(fs.readFileSync(pom)).digest("hex")
  const dir = path.join(yield* cacheRoot(), "mirror-maker", JAVA_MM2_VERSION, "libs")
  const marker = path.join(dir, ".effect-mm2-complete")
  if (!fs.existsSync(marker) || fs.readFileSync(marker, "utf8").trim() !== hash) {
    const mvn = process.env["MVN"] ?? "mvn"
    const result = yield* runCollect(mvn, ["-B", "-q", "-f", pom, "package", `-Dmm2.version=${JAVA_MM2_VERSION}`, `-Dlibs.dir=${dir}`], {
      onMissing: () => new Error(`${mvn} not found (needed to resolve Java MirrorMaker 2 from Maven Central)`),
      onError: (cause) => new Error(`cannot run ${mvn}: ${String(cause)}`)
    })
    if (result.exitCode !== 0) return yield* Effect.fail(new Error(`resolving connect-mirror ${JAVA_MM2_VERSION} failed (exit ${result.exitCode}):\n${result.output}`))
    yield* Effect.promise(() => fsp.writeFile(marker, hash))
  }
  return path.join(dir, "*")
})

export interface JavaMirrorMaker {
  readonly pid: number
  /** stdout and stderr so far, interleaved */
  readonly output: () => string
  readonly tail: (lines?: number) => string
  readonly hasExited: () => boolean
  /**
   * SIGTERM, then waits for the exit (Connect stops its tasks, which commit their offsets);
   * fails with the output tail if it has not exited within `timeout`.
   */
  readonly stop: (timeout?: Duration.DurationInput) => Effect.Effect<{ readonly code: number | null; readonly signal: string | null }, Error>
}

/**
 * Starts `MirrorMaker <mm2.properties> [--clusters ...]` with `props`, stopped (SIGKILL) with the
 * scope if still running.
 */
export const startJavaMirrorMaker = (
  props: Readonly<Record<string, string>>,
  options: { readonly clusters?: ReadonlyArray<string> } = {}
): Effect.Effect<JavaMirrorMaker, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const classpath = yield* mirrorMakerClasspath
    const dir = yield* Effect.acquireRelease(
      Effect.promise(() => fsp.mkdtemp(path.join(os.tmpdir(), "effect-mm2-java-mm2-"))),
      (d) => Effect.promise(() => fsp.rm(d, { recursive: true, force: true }))
    )
    const propsFile = path.join(dir, "mm2.properties")
    const logConfig = path.join(dir, "log4j2.properties")
    yield* Effect.promise(() => fsp.writeFile(propsFile, renderProps(props), "utf8"))
    yield* Effect.promise(() => fsp.writeFile(logConfig, log4j2(process.env["MM2_IT_JAVA_LOG"] ?? "WARN"), "utf8"))
    const args = [
      "-Xmx384m",
      "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1",
      "-Djava.awt.headless=true",
      `-Dlog4j2.configurationFile=${logConfig}`,
      "-cp",
      classpath,
      MAIN_CLASS,
      propsFile,
      ...(options.clusters !== undefined && options.clusters.length > 0 ? ["--clusters", ...options.clusters] : [])
    ]
    let output = ""
    let exitStatus: { readonly code: number | null; readonly signal: string | null } | undefined
    const child: ChildProcess = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const c = spawn(javaExecutable(), args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] })
        killWithWorker(c)
        return c
      }),
      (c) =>
        Effect.async<void>((resume) => {
          if (exitStatus !== undefined || c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return resume(Effect.void)
          c.once("exit", () => resume(Effect.void))
          c.kill("SIGKILL")
        }).pipe(Effect.timeout("20 seconds"), Effect.ignore)
    )
    const append = (chunk: string) => {
      output = (output + chunk).slice(-MAX_CAPTURE)
    }
    child.stdout?.setEncoding("utf8").on("data", append)
    child.stderr?.setEncoding("utf8").on("data", append)
    const exited = new Promise<{ readonly code: number | null; readonly signal: string | null }>((resolve) => {
      child.once("exit", (code, signal) => {
        exitStatus = { code, signal }
        resolve(exitStatus)
      })
      child.once("error", (e) => {
        append(`\n[spawn error] ${String(e)}`)
        exitStatus = { code: null, signal: null }
        resolve(exitStatus)
      })
    })
    const tail = (lines = 40) => lastLines(output, lines).join("\n")
    return {
      pid: child.pid ?? -1,
      output: () => output,
      tail,
      hasExited: () => exitStatus !== undefined,
      stop: (timeout = Duration.seconds(60)) =>
        Effect.suspend(() => {
          if (exitStatus === undefined) child.kill("SIGTERM")
          return Effect.promise(() => exited)
        }).pipe(
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () =>
              new Error(`Java MirrorMaker 2 (pid ${child.pid}) did not exit within ${Duration.format(Duration.decode(timeout))} of SIGTERM\n${tail()}`)
          })
        )
    } satisfies JavaMirrorMaker
  })
