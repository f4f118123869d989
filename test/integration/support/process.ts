/**
 * `node dist/main.js ...` as a scoped child process: whatever happens in the test, the child is
 * SIGKILLed (and awaited) when the scope closes, so no process outlives its test.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { killWithWorker } from "./children.js"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Duration, Effect, type Scope } from "effect"

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
export const MAIN_JS = path.join(REPO_ROOT, "dist", "main.js")

export interface ExitStatus {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface Mm2Process {
  readonly pid: number
  readonly stdout: () => string
  readonly stderr: () => string
  /** the last lines of stdout and stderr, for failure messages */
  readonly tail: (lines?: number) => string
  readonly hasExited: () => boolean
  /** resolves when the process exited */
  readonly exit: Effect.Effect<ExitStatus>
  readonly kill: (signal: NodeJS.Signals) => Effect.Effect<void>
  /** waits for the exit; fails (with the output tail) if it does not come within `timeout` */
  readonly waitExit: (timeout: Duration.DurationInput, what: string) => Effect.Effect<ExitStatus, Error>
}

const MAX_CAPTURE = 4 * 1024 * 1024

/** ANSI colour codes (e.g. in `--help`) removed. */
export const stripAnsi = (s: string): string => s.replace(/\u001b\[[0-9;]*m/g, "")

/** `node dist/main.js <args>` (see spawnNode). */
export const spawnMm2 = (
  args: ReadonlyArray<string>,
  options: { readonly env?: Readonly<Record<string, string>> } = {}
): Effect.Effect<Mm2Process, Error, Scope.Scope> => spawnNode(MAIN_JS, args, options)

/** `node <script> <args>` in the repository root, stopped with the scope. */
export const spawnNode = (
  script: string,
  args: ReadonlyArray<string>,
  options: { readonly env?: Readonly<Record<string, string>> } = {}
): Effect.Effect<Mm2Process, Error, Scope.Scope> =>
  Effect.gen(function*() {
    if (!fs.existsSync(script)) {
      return yield* Effect.fail(new Error(`${script} does not exist: run \`npm run build\` first`))
    }
    let out = ""
    let err = ""
    let exitStatus: ExitStatus | undefined
    const child: ChildProcess = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const child = spawn(process.execPath, [script, ...args], {
          cwd: REPO_ROOT,
          stdio: ["ignore", "pipe", "pipe"],
          env: { ...process.env, NO_COLOR: "1", ...options.env }
        })
        killWithWorker(child)
        return child
      }),
      (child) =>
        Effect.promise(() => {
          if (exitStatus !== undefined || child.exitCode !== null || child.signalCode !== null) {
            return Promise.resolve()
          }
          return new Promise<void>((resolve) => {
            child.once("exit", () => resolve())
            child.kill("SIGKILL")
          })
        }).pipe(Effect.timeout("20 seconds"), Effect.ignore)
    )
    const exited = new Promise<ExitStatus>((resolve) => {
      child.once("exit", (code, signal) => {
        exitStatus = { code, signal }
        resolve(exitStatus)
      })
      child.once("error", (e) => {
        err += `\n[spawn error] ${String(e)}`
        exitStatus = { code: null, signal: null }
        resolve(exitStatus)
      })
    })
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      out = (out + chunk).slice(-MAX_CAPTURE)
    })
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      err = (err + chunk).slice(-MAX_CAPTURE)
    })
    const tail = (lines = 40) =>
      [
        "--- stdout (tail) ---",
        ...out.split("\n").slice(-lines),
        "--- stderr (tail) ---",
        ...err.split("\n").slice(-lines)
      ].join("\n")
    const exit = Effect.promise(() => exited)
    return {
      pid: child.pid ?? -1,
      stdout: () => out,
      stderr: () => err,
      tail,
      hasExited: () => exitStatus !== undefined,
      exit,
      kill: (signal) =>
        Effect.sync(() => {
          if (exitStatus === undefined) child.kill(signal)
        }),
      waitExit: (timeout, what) =>
        exit.pipe(
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () =>
              new Error(`${what}: process ${child.pid} did not exit within ${Duration.format(Duration.decode(timeout))}\n${tail()}`)
          })
        )
    } satisfies Mm2Process
  })

/**
 * A loopback port nothing listens on (bound once by us, then released): connecting to
 * `127.0.0.1:<port>` is refused, so a client retries until its own timeout.
 */
export const closedLoopbackPort: Effect.Effect<number> = Effect.async<number>((resume) => {
  const server = net.createServer()
  server.once("error", () => resume(Effect.die(new Error("could not bind a loopback port"))))
  server.listen({ host: "127.0.0.1", port: 0 }, () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : -1
    server.close(() => resume(Effect.succeed(port)))
  })
})
