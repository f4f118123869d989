/**
 * Resolves a flat classpath directory (the equivalent of a Kafka tarball's `libs/`) for a given
 * Kafka version, for the test/demo launcher in ./KafkaCluster.ts.
 *
 * Order of preference:
 *   1. `$KAFKA_HOME/libs` (an unpacked release tarball; its version is read from the jar name),
 *   2. `<cache>/kafka/<version>/libs` when a completion marker says an earlier Maven run of the
 *      SAME pom finished (the marker records the pom's sha256, so editing `kafka/pom-*.xml`, e.g.
 *      to add an artifact, re-resolves on every machine instead of reusing an older cache forever),
 *   3. a fresh Maven run (`kafka/pom-4.xml` or `kafka/pom-3.xml`) into a temporary sibling
 *      directory that is renamed into place only after Maven succeeded, so neither a concurrent
 *      nor an interrupted run ever leaves a half-filled `libs/` that looks usable.
 *
 * `<cache>` is `$EFFECT_MM2_CACHE` or `<repo>/.cache` (git-ignored).
 */
import { spawn } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Context, Data, Duration, Effect, Layer, Option, Schedule } from "effect"

/** The Kafka version tests and the demo run against unless `KAFKA_VERSION` says otherwise. */
export const DEFAULT_KAFKA_VERSION = "4.4.0"

/**
 * Written into a libs dir once Maven finished (JSON, see CompleteMarker); its absence, or a pom
 * hash other than the current pom's, means "incomplete, redo".
 */
export const COMPLETE_MARKER = ".effect-mm2-complete"

/** The content of COMPLETE_MARKER. */
export interface CompleteMarker {
  readonly version: string
  /** file name of the pom Maven ran, e.g. `pom-4.xml` (for humans) */
  readonly pom: string
  /** sha256 (hex) of that pom's bytes: what decides whether the dir is still current */
  readonly pomSha256: string
  readonly resolvedAt: string
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

export class RepoRootNotFoundError extends Data.TaggedError("RepoRootNotFoundError")<{
  readonly startDir: string
  readonly message: string
}> {}

export class InvalidKafkaVersionError extends Data.TaggedError("InvalidKafkaVersionError")<{
  readonly version: string
  readonly message: string
}> {}

export class KafkaHomeError extends Data.TaggedError("KafkaHomeError")<{
  readonly kafkaHome: string
  readonly message: string
}> {}

export class JavaNotFoundError extends Data.TaggedError("JavaNotFoundError")<{
  readonly executable: string
  readonly message: string
}> {}

export class MavenNotFoundError extends Data.TaggedError("MavenNotFoundError")<{
  readonly executable: string
  readonly message: string
}> {}

export class MavenFailedError extends Data.TaggedError("MavenFailedError")<{
  readonly version: string
  readonly pom: string
  readonly exitCode: number | null
  readonly signal: string | null
  /** The last lines Maven printed (stdout and stderr interleaved). */
  readonly outputTail: ReadonlyArray<string>
  readonly message: string
}> {}

export class KafkaJarsIoError extends Data.TaggedError("KafkaJarsIoError")<{
  readonly operation: string
  readonly path: string
  readonly cause: unknown
  readonly message: string
}> {}

export type KafkaJarsError =
  | RepoRootNotFoundError
  | InvalidKafkaVersionError
  | KafkaHomeError
  | JavaNotFoundError
  | MavenNotFoundError
  | MavenFailedError
  | KafkaJarsIoError

// ---------------------------------------------------------------------------------------------
// Small helpers (also used by KafkaCluster.ts)
// ---------------------------------------------------------------------------------------------

/** Run a node:fs promise and turn a rejection into a tagged error naming the operation. */
export const io = <A>(operation: string, target: string, f: () => Promise<A>): Effect.Effect<A, KafkaJarsIoError> =>
  Effect.tryPromise({
    try: f,
    catch: (cause) =>
      new KafkaJarsIoError({
        operation,
        path: target,
        cause,
        message: `${operation} ${target} failed: ${cause instanceof Error ? cause.message : String(cause)}`
      })
  })

const pathExists = (p: string): Effect.Effect<boolean> =>
  Effect.promise(() =>
    fsp.access(p).then(
      () => true,
      () => false
    )
  )

const errnoCode = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : undefined

/** Last `n` non-empty lines of a text. */
export const lastLines = (text: string, n: number): ReadonlyArray<string> =>
  text
    .split(/\r?\n/)
    .filter((l) => l.trim().length > 0)
    .slice(-n)

/** `$JAVA_HOME/bin/java` when JAVA_HOME is set (what Kafka's own scripts do), else `java` on PATH. */
export const javaExecutable = (): string => {
  const home = process.env["JAVA_HOME"]
  return home !== undefined && home.length > 0 ? path.join(home, "bin", "java") : "java"
}

/** The version requested through the environment, or the default. */
export const kafkaVersionFromEnv = (): string => {
  const v = process.env["KAFKA_VERSION"]?.trim()
  return v !== undefined && v.length > 0 ? v : DEFAULT_KAFKA_VERSION
}

const VERSION_RE = /^(\d+)\.(\d+)\.(\d+)(?:[-.][0-9A-Za-z.-]+)?$/

/**
 * Major version of a Kafka release string. Also guards the string: it ends up in a path and on
 * Maven's command line, so only plain release-like versions are accepted.
 */
export const kafkaMajorVersion = (version: string): Effect.Effect<3 | 4, InvalidKafkaVersionError> => {
  const m = VERSION_RE.exec(version)
  const major = m?.[1] === undefined ? Number.NaN : Number(m[1])
  return major === 3 || major === 4
    ? Effect.succeed(major)
    : Effect.fail(
        new InvalidKafkaVersionError({
          version,
          message: `Unsupported Kafka version "${version}": expected a 3.x or 4.x release such as ${DEFAULT_KAFKA_VERSION}`
        })
      )
}

/**
 * The repository root: the nearest ancestor of this module holding `kafka/pom-4.xml`. Walking up
 * (instead of a fixed `../..`) makes the same code work from `src/kafka/testing` under
 * tsx/vitest and from the compiled `dist/kafka/testing`.
 */
export const findRepoRoot = (
  startDir: string = path.dirname(fileURLToPath(import.meta.url))
): Effect.Effect<string, RepoRootNotFoundError> =>
  Effect.suspend(() => {
    let dir = path.resolve(startDir)
    for (;;) {
      if (fs.existsSync(path.join(dir, "kafka", "pom-4.xml"))) return Effect.succeed(dir)
      const parent = path.dirname(dir)
      if (parent === dir) {
        return Effect.fail(
          new RepoRootNotFoundError({
            startDir,
            message: `No ancestor of ${startDir} contains kafka/pom-4.xml; cannot locate the effect-mm2 repository`
          })
        )
      }
      dir = parent
    }
  })

/** `$EFFECT_MM2_CACHE` (resolved against the cwd) or `<repo>/.cache`. */
export const cacheRoot = (): Effect.Effect<string, RepoRootNotFoundError> => {
  const env = process.env["EFFECT_MM2_CACHE"]
  return env !== undefined && env.length > 0
    ? Effect.succeed(path.resolve(env))
    : Effect.map(findRepoRoot(), (root) => path.join(root, ".cache"))
}

// ---------------------------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------------------------

interface ProcessResult {
  readonly exitCode: number | null
  readonly signal: string | null
  readonly output: string
}

/**
 * Run a short-lived command to completion, collecting stdout+stderr. Interruption kills it, so an
 * interrupted test run does not leave Maven or a tool JVM behind. `onMissing` maps ENOENT (the
 * executable is not installed) to the caller's tagged error.
 */
export const runCollect = <E1, E2>(
  executable: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly onMissing: () => E1; readonly onError: (cause: unknown) => E2 }
): Effect.Effect<ProcessResult, E1 | E2> =>
  Effect.async<ProcessResult, E1 | E2>((resume) => {
    const chunks: Array<Buffer> = []
    const child = spawn(executable, args, {
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      stdio: ["ignore", "pipe", "pipe"]
    })
    child.stdout.on("data", (b: Buffer) => chunks.push(b))
    child.stderr.on("data", (b: Buffer) => chunks.push(b))
    child.once("error", (cause) => {
      resume(Effect.fail(errnoCode(cause) === "ENOENT" ? options.onMissing() : options.onError(cause)))
    })
    child.once("close", (exitCode, signal) => {
      resume(Effect.succeed({ exitCode, signal, output: Buffer.concat(chunks).toString("utf8") }))
    })
    return Effect.sync(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    })
  })

/** Executables already seen to run; `java -version` costs ~100 ms and every start would repeat it. */
const workingJavas = new Set<string>()

/** Fails with JavaNotFoundError unless `java -version` runs. */
export const checkJava: Effect.Effect<void, JavaNotFoundError> = Effect.suspend(() => {
  const java = javaExecutable()
  if (workingJavas.has(java)) return Effect.void
  const notFound = (detail: string) =>
    new JavaNotFoundError({
      executable: java,
      message: `Java is required to run Kafka but "${java}" ${detail}. Install a JDK 17+ or set JAVA_HOME.`
    })
  return runCollect(java, ["-version"], {
    onMissing: () => notFound("was not found"),
    onError: (cause) => notFound(`could not be started (${String(cause)})`)
  }).pipe(
    Effect.flatMap((r) =>
      r.exitCode === 0
        ? Effect.sync(() => void workingJavas.add(java))
        : Effect.fail(notFound(`-version exited with ${r.exitCode}`))
    )
  )
})

// ---------------------------------------------------------------------------------------------
// Resolution
// ---------------------------------------------------------------------------------------------

export interface KafkaLibs {
  readonly version: string
  /** Directory holding the jars. */
  readonly libsDir: string
  /** `<libsDir>/*`, to be passed to `java -cp` unexpanded (java expands the wildcard). */
  readonly classpath: string
  readonly source: "KAFKA_HOME" | "cache" | "maven"
}

const toLibs = (version: string, libsDir: string, source: KafkaLibs["source"]): KafkaLibs => ({
  version,
  libsDir,
  classpath: path.join(libsDir, "*"),
  source
})

const fromKafkaHome = (kafkaHome: string, requested: Option.Option<string>): Effect.Effect<KafkaLibs, KafkaHomeError> =>
  Effect.gen(function* () {
    const libsDir = path.join(path.resolve(kafkaHome), "libs")
    const entries = yield* Effect.tryPromise({
      try: () => fsp.readdir(libsDir),
      catch: (cause) =>
        new KafkaHomeError({ kafkaHome, message: `KAFKA_HOME=${kafkaHome} has no readable libs/ directory: ${String(cause)}` })
    })
    // The core jar is `kafka_<scala>-<version>.jar` in every release; its name is the cheapest
    // reliable version source (running `kafka.Kafka --version` costs a JVM start).
    const core = entries.map((e) => /^kafka_2\.\d+-(.+)\.jar$/.exec(e)?.[1]).find((v) => v !== undefined)
    if (core === undefined) {
      return yield* new KafkaHomeError({ kafkaHome, message: `KAFKA_HOME=${kafkaHome}: no kafka_2.*-<version>.jar in ${libsDir}` })
    }
    if (Option.isSome(requested) && requested.value !== core) {
      return yield* new KafkaHomeError({
        kafkaHome,
        message: `KAFKA_HOME=${kafkaHome} holds Kafka ${core} but ${requested.value} was requested (unset KAFKA_VERSION or KAFKA_HOME)`
      })
    }
    return toLibs(core, libsDir, "KAFKA_HOME")
  })

/** The pom Maven runs for a major version, and the sha256 a complete libs dir must record. */
interface PomInfo {
  readonly file: string
  readonly sha256: string
}

const pomInfo = (repoRoot: string, major: 3 | 4): Effect.Effect<PomInfo, KafkaJarsIoError> => {
  const file = path.join(repoRoot, "kafka", major === 4 ? "pom-4.xml" : "pom-3.xml")
  return Effect.map(io("read", file, () => fsp.readFile(file)), (bytes) => ({
    file,
    sha256: createHash("sha256").update(bytes).digest("hex")
  }))
}

/** The recorded pom hash of a marker, or undefined when it is missing, unreadable or predates hashes. */
const markerPomHash = (libsDir: string): Effect.Effect<string | undefined> =>
  Effect.promise(() =>
    fsp.readFile(path.join(libsDir, COMPLETE_MARKER), "utf8").then(
      (text) => {
        try {
          const parsed: unknown = JSON.parse(text)
          return typeof parsed === "object" && parsed !== null && "pomSha256" in parsed && typeof parsed.pomSha256 === "string"
            ? parsed.pomSha256
            : undefined
        } catch {
          return undefined
        }
      },
      () => undefined
    )
  )

/**
 * A libs dir counts as complete when its marker records the current pom's hash and the core jar
 * of that version is there. A marker without a hash (written before hashes existed) or with
 * another one came from a different pom: the dir may lack an artifact added since.
 */
const isComplete = (libsDir: string, version: string, pom: PomInfo): Effect.Effect<boolean> =>
  Effect.map(
    Effect.all([markerPomHash(libsDir), pathExists(path.join(libsDir, `kafka_2.13-${version}.jar`))]),
    ([hash, core]) => hash === pom.sha256 && core
  )

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (cause) {
    // EPERM: exists but belongs to someone else, still alive
    return errnoCode(cause) === "EPERM"
  }
}

class LockHeld extends Data.TaggedError("LockHeld")<{ readonly holder: number }> {}

/**
 * A lock file (O_EXCL create, holding our pid) so that two test runs starting at once do not both
 * run Maven against the same local repository. A lock whose pid is dead is stale (the holder was
 * killed) and is taken over. Contenders poll until the holder releases it.
 */
const withVersionLock = <A, E>(versionDir: string, body: Effect.Effect<A, E>): Effect.Effect<A, E | KafkaJarsIoError> => {
  const lockPath = path.join(versionDir, ".lock")
  const tryAcquire: Effect.Effect<void, LockHeld | KafkaJarsIoError> = Effect.tryPromise({
    try: () => fsp.writeFile(lockPath, String(process.pid), { flag: "wx" }),
    catch: (cause) => cause
  }).pipe(
    Effect.catchAll((cause): Effect.Effect<never, LockHeld | KafkaJarsIoError> => {
      if (errnoCode(cause) !== "EEXIST") {
        return Effect.fail(
          new KafkaJarsIoError({ operation: "create lock", path: lockPath, cause, message: `cannot create ${lockPath}: ${String(cause)}` })
        )
      }
      return Effect.promise(() =>
        Promise.all([
          fsp.readFile(lockPath, "utf8").catch(() => ""),
          fsp.stat(lockPath).then((st) => Date.now() - st.mtimeMs, () => 0)
        ])
      ).pipe(
        Effect.flatMap(([content, ageMillis]) => {
          const holder = Number.parseInt(content, 10)
          const valid = Number.isInteger(holder) && holder > 0
          // An empty file may be a lock being written right now, so it is only stale once it is
          // old (its writer died between create and write).
          if ((valid && !isAlive(holder)) || (!valid && ageMillis > 10_000)) {
            return Effect.promise(() => fsp.rm(lockPath, { force: true })).pipe(
              Effect.zipRight(Effect.fail(new LockHeld({ holder })))
            )
          }
          return Effect.fail(new LockHeld({ holder: valid ? holder : -1 }))
        })
      )
    })
  )
  const acquire = tryAcquire.pipe(
    Effect.tapError((e) =>
      e._tag === "LockHeld" ? Effect.logDebug(`waiting for Kafka jar resolution held by pid ${e.holder} (${lockPath})`) : Effect.void
    ),
    Effect.retry({
      while: (e) => e._tag === "LockHeld",
      // Maven from an empty local repository takes a few minutes at most
      schedule: Schedule.spaced(Duration.seconds(1)).pipe(Schedule.upTo(Duration.minutes(15)))
    }),
    Effect.catchTag("LockHeld", (e) =>
      Effect.fail(
        new KafkaJarsIoError({
          operation: "acquire lock",
          path: lockPath,
          cause: e,
          message: `gave up waiting for ${lockPath} (held by pid ${e.holder})`
        })
      )
    )
  )
  return Effect.acquireUseRelease(
    acquire,
    () => body,
    () => Effect.promise(() => fsp.rm(lockPath, { force: true }))
  )
}

const runMaven = (repoRoot: string, version: string, pomFile: PomInfo, targetLibs: string) =>
  Effect.gen(function* () {
    const pom = pomFile.file
    const mvn = process.env["MVN"] ?? "mvn"
    const args = ["-B", "-q", "-f", pom, "package", `-Dkafka.version=${version}`, `-Dlibs.dir=${targetLibs}`]
    yield* Effect.logInfo(`resolving Kafka ${version} jars with Maven into ${targetLibs}`)
    const r = yield* runCollect(mvn, args, {
      cwd: repoRoot,
      onMissing: () =>
        new MavenNotFoundError({
          executable: mvn,
          message: `Kafka ${version} jars are not cached and "${mvn}" was not found: install Maven 3.8+, or set KAFKA_HOME to an unpacked Kafka release`
        }),
      onError: (cause) =>
        new MavenFailedError({
          version,
          pom,
          exitCode: null,
          signal: null,
          outputTail: [String(cause)],
          message: `could not start Maven for Kafka ${version}: ${String(cause)}`
        })
    })
    if (r.exitCode !== 0) {
      const outputTail = lastLines(r.output, 40)
      return yield* new MavenFailedError({
        version,
        pom,
        exitCode: r.exitCode,
        signal: r.signal,
        outputTail,
        message: `mvn ${args.join(" ")} failed (exit ${r.exitCode ?? r.signal}); last output:\n${outputTail.join("\n")}`
      })
    }
  })

const resolveViaCache = (version: string): Effect.Effect<KafkaLibs, KafkaJarsError> =>
  Effect.gen(function* () {
    const major = yield* kafkaMajorVersion(version)
    const versionDir = path.join(yield* cacheRoot(), "kafka", version)
    const libsDir = path.join(versionDir, "libs")
    // the pom is read on every resolution (a few KiB): it is what tells a current cache from an old one
    const repoRoot = yield* findRepoRoot()
    const pom = yield* pomInfo(repoRoot, major)
    if (yield* isComplete(libsDir, version, pom)) return toLibs(version, libsDir, "cache")

    yield* io("mkdir", versionDir, () => fsp.mkdir(versionDir, { recursive: true }))
    return yield* withVersionLock(
      versionDir,
      Effect.gen(function* () {
        // someone else may have finished while we waited for the lock
        if (yield* isComplete(libsDir, version, pom)) return toLibs(version, libsDir, "cache")
        // temp dirs are only created under the lock, so any found now belong to a killed run
        const leftovers = (yield* io("readdir", versionDir, () => fsp.readdir(versionDir))).filter((e) => e.startsWith(".libs-tmp-"))
        yield* Effect.forEach(leftovers, (e) => Effect.promise(() => fsp.rm(path.join(versionDir, e), { recursive: true, force: true })), {
          discard: true
        })
        const tmp = path.join(versionDir, `.libs-tmp-${process.pid}-${randomBytes(4).toString("hex")}`)
        const install = Effect.gen(function* () {
          yield* runMaven(repoRoot, version, pom, tmp)
          const marker: CompleteMarker = {
            version,
            pom: path.basename(pom.file),
            pomSha256: pom.sha256,
            resolvedAt: new Date().toISOString()
          }
          yield* io("write marker", tmp, () => fsp.writeFile(path.join(tmp, COMPLETE_MARKER), JSON.stringify(marker) + "\n"))
          // Lost a race with a run that took over a stale lock: keep the winner's complete dir
          // (its JVMs may already use it) and let ours be deleted below.
          if (yield* isComplete(libsDir, version, pom)) return toLibs(version, libsDir, "cache")
          // A pre-existing incomplete or outdated dir (interrupted run, manual mvn without
          // marker, a marker of another pom) is moved aside first: rename() onto a non-empty
          // directory fails. (A JVM still running from it keeps the jars it has open: unlinked
          // files stay readable on Linux.)
          if (yield* pathExists(libsDir)) {
            const stale = `${tmp}-stale`
            yield* io("rename", libsDir, () => fsp.rename(libsDir, stale))
            yield* io("rm", stale, () => fsp.rm(stale, { recursive: true, force: true }))
          }
          yield* io("rename", tmp, () => fsp.rename(tmp, libsDir))
          return toLibs(version, libsDir, "maven")
        })
        // the temp dir is garbage on failure or interruption
        return yield* Effect.onExit(install, () => Effect.promise(() => fsp.rm(tmp, { recursive: true, force: true })))
      })
    )
  })

/**
 * Resolve the jars for `version` (default: `KAFKA_VERSION` env or DEFAULT_KAFKA_VERSION), checking
 * that java is installed (every caller is about to run it).
 */
export const resolveKafkaLibs = (version?: string): Effect.Effect<KafkaLibs, KafkaJarsError> =>
  Effect.gen(function* () {
    yield* checkJava
    const explicit = version ?? process.env["KAFKA_VERSION"]?.trim()
    const requested = explicit !== undefined && explicit.length > 0 ? Option.some(explicit) : Option.none()
    const kafkaHome = process.env["KAFKA_HOME"]
    if (kafkaHome !== undefined && kafkaHome.length > 0) {
      const libs = yield* fromKafkaHome(kafkaHome, requested)
      yield* kafkaMajorVersion(libs.version)
      return libs
    }
    return yield* resolveViaCache(Option.getOrElse(requested, () => DEFAULT_KAFKA_VERSION))
  }).pipe(Effect.withSpan("KafkaJars.resolve"))

/** Service form, for code that wants to swap the resolution (e.g. a fixed directory) in tests. */
export class KafkaJars extends Context.Tag("effect-mm2/testing/KafkaJars")<
  KafkaJars,
  { readonly resolve: (version?: string) => Effect.Effect<KafkaLibs, KafkaJarsError> }
>() {
  static readonly make: Effect.Effect<KafkaJars["Type"]> = Effect.sync(() => ({ resolve: resolveKafkaLibs }))
  static readonly layer: Layer.Layer<KafkaJars> = Layer.effect(KafkaJars, KafkaJars.make)
}
