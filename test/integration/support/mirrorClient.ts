/**
 * Java MirrorMaker 2's client library (connect-mirror-client 4.3.1 from Maven Central) for
 * interoperability tests: a small probe (fixtures/MirrorClientProbe.java), compiled at test time,
 * asks Java's RemoteClusterUtils what it reads from a cluster effect-mm2 wrote to. Other fixtures
 * (e.g. fixtures/JavaWireVectors.java) run with the same jars through `runFixture`.
 * The jars are cached under `<cache>/mirror-client/<version>/libs` (git-ignored), keyed by the pom.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { type Duration, Effect, type Scope } from "effect"
import { cacheRoot, findRepoRoot, javaExecutable, runCollect } from "../../../harness/KafkaJars.js"
import { runJavaTool } from "./javaTools.js"

/** Java MM2's jars are served at this version here (not the brokers' 4.4.0). */
export const MIRROR_CLIENT_VERSION = "4.3.1"

const run = (executable: string, args: ReadonlyArray<string>, what: string) =>
  runCollect(executable, args, {
    onMissing: () => new Error(`${executable} not found (needed for ${what})`),
    onError: (cause) => new Error(`cannot run ${executable} for ${what}: ${String(cause)}`)
  }).pipe(
    Effect.flatMap((r) => (r.exitCode === 0 ? Effect.succeed(r.output) : Effect.fail(new Error(`${what} failed (exit ${r.exitCode}):\n${r.output}`))))
  )

/** The jars, resolved with Maven once per pom. */
const libs = Effect.gen(function*() {
  const root = yield* findRepoRoot()
  const pom = path.join(root, "kafka", "pom-mirror-client.xml")
  const hash = createHash("sha256").update(fs.readFileSync(pom)).digest("hex")
  const dir = path.join(yield* cacheRoot(), "mirror-client", MIRROR_CLIENT_VERSION, "libs")
  const marker = path.join(dir, ".effect-mm2-complete")
  if (!fs.existsSync(marker) || fs.readFileSync(marker, "utf8").trim() !== hash) {
    yield* run(process.env["MVN"] ?? "mvn", ["-B", "-q", "-f", pom, "package", `-Dmm2.version=${MIRROR_CLIENT_VERSION}`, `-Dlibs.dir=${dir}`], "resolving connect-mirror-client with Maven")
    yield* Effect.promise(() => fsp.writeFile(marker, hash))
  }
  return dir
})

/**
 * Compiles `test/integration/fixtures/<className>.java` against Java MM2's jars into a temporary
 * directory (deleted with the scope) and returns the classpath to run it with.
 */
export const fixtureClasspath = (className: string): Effect.Effect<string, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const dir = yield* libs
    const root = yield* findRepoRoot()
    const classes = yield* Effect.acquireRelease(
      Effect.promise(() => fsp.mkdtemp(path.join(os.tmpdir(), "effect-mm2-probe-"))),
      (d) => Effect.promise(() => fsp.rm(d, { recursive: true, force: true }))
    )
    const javac = path.join(path.dirname(javaExecutable()), "javac")
    const source = path.join(root, "test", "integration", "fixtures", `${className}.java`)
    yield* run(
      fs.existsSync(javac) ? javac : "javac",
      ["-encoding", "UTF-8", "-cp", path.join(dir, "*"), "-d", classes, source],
      `compiling ${className}`
    )
    return `${path.join(dir, "*")}${path.delimiter}${classes}`
  })

/** Compiles the probe into a temporary directory (deleted with the scope) and returns the classpath. */
const probeClasspath: Effect.Effect<string, Error, Scope.Scope> = fixtureClasspath("MirrorClientProbe")

/**
 * Runs the fixture `test/integration/fixtures/<className>.java` (a class with a `main`) with Java
 * MM2's jars on its classpath and returns its output. It is compiled first unless `classpath`
 * (from `fixtureClasspath(className)`) is given, so that several runs compile it once.
 */
export const runFixture = (
  className: string,
  args: ReadonlyArray<string>,
  options: { readonly classpath?: string; readonly timeout?: Duration.DurationInput } = {}
) =>
  Effect.gen(function*() {
    const classpath = options.classpath ?? (yield* fixtureClasspath(className))
    return yield* runJavaTool(className, args, { classpath, timeout: options.timeout ?? "60 seconds" })
  })

export interface ProbeResult {
  /** `topic partition offset` lines of RemoteClusterUtils.translateOffsets */
  readonly translated: ReadonlyArray<string>
  readonly checkpointTopics: ReadonlyArray<string>
  readonly heartbeatTopics: ReadonlyArray<string>
  readonly upstreamClusters: ReadonlyArray<string>
}

/** What Java's RemoteClusterUtils reads from `bootstrap` for `group`, checkpointed from `sourceAlias`. */
export const probe = (bootstrap: string, sourceAlias: string, group: string) =>
  Effect.gen(function*() {
    const classpath = yield* probeClasspath
    const result = yield* runJavaTool("MirrorClientProbe", [bootstrap, sourceAlias, group], { classpath, timeout: "90 seconds" })
    const lines = result.stdout.split("\n")
    const of = (prefix: string) => lines.filter((l) => l.startsWith(`${prefix} `)).map((l) => l.slice(prefix.length + 1).trim())
    return {
      translated: of("translated"),
      checkpointTopics: of("checkpointTopic"),
      heartbeatTopics: of("heartbeatTopic"),
      upstreamClusters: of("upstreamCluster")
    } satisfies ProbeResult
  })
