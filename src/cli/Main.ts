/**
 * The process: runs the command line. SIGINT/SIGTERM interrupt the program: every flow stops
 * fetching, writes what it already fetched, commits its progress, and the process exits 0.
 * Errors are printed once, one readable line each, never as a stack trace, and exit with code 1.
 * Logs go through our logger (Logging.ts) in the format and at the level of the command line.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { ValidationError } from "@effect/cli"
import { Cause, Console, Effect, Logger, Runtime } from "effect"
import { ConfigError } from "../config/ConfigError.js"
import * as Logging from "../telemetry/Logging.js"
import * as Cli from "./Cli.js"

const describeFailure = (e: unknown): string =>
  e instanceof ConfigError ? e.line : e instanceof Error ? e.message : String(e)

const describeDefect = (d: unknown): string =>
  `internal error: ${d instanceof Error ? d.message : String(d)} ` +
  "(a bug in effect-mm2; please report it; --log-level debug shows the stack trace)"

const report = (cause: Cause.Cause<unknown>) => {
  if (Cause.isInterruptedOnly(cause)) return Effect.void
  const failures = [...Cause.failures(cause)]
  // @effect/cli already printed what is wrong with the command line
  const ours = failures.filter((e) => !ValidationError.isValidationError(e))
  const defects = [...Cause.defects(cause)]
  if (failures.length > 0 && ours.length === 0 && defects.length === 0) return Effect.void
  const lines = [...ours.map(describeFailure), ...defects.map(describeDefect)].flatMap((m) => m.split("\n"))
  return Console.error(lines.map((l) => `effect-mm2: ${l}`).join("\n"))
}

const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g

const colours = (stream: NodeJS.WriteStream): boolean =>
  stream.isTTY === true && (process.env["NO_COLOR"] ?? "") === ""

/**
 * @effect/cli renders --help and its messages with ANSI colour codes, always: they are taken out
 * when the stream is not a terminal (a pipe, a file, a log collector) or NO_COLOR is set.
 */
const plainWhereNeeded = (console: Console.Console): Console.Console => {
  const plain = (keep: boolean) => (args: ReadonlyArray<unknown>) =>
    keep ? args : args.map((a) => (typeof a === "string" ? a.replace(ANSI, "") : a))
  const out = plain(colours(process.stdout))
  const err = plain(colours(process.stderr))
  return { ...console, log: (...args) => console.log(...out(args)), error: (...args) => console.error(...err(args)) }
}

/** The program's runtime once it runs, for the signal listener to log through. */
let runtime: Runtime.Runtime<never> | undefined

const logs = Cli.logSettings(process.argv)

const program = Effect.gen(function*() {
  runtime = yield* Effect.runtime<never>()
  return yield* Cli.run(process.argv)
}).pipe(
  Effect.tapErrorCause(report),
  Effect.provide(NodeContext.layer),
  (self) => Effect.flatMap(Effect.console, (console) => Effect.withConsole(self, plainWhereNeeded(console))),
  Effect.provide(Logging.layer(logs.format)),
  Logger.withMinimumLogLevel(logs.level)
)

/** The longest a graceful stop may take (draining is bounded at 30 s within it). */
const STOP_LIMIT_MS = 60_000

/**
 * Runs until done or interrupted; NodeRuntime handles SIGINT/SIGTERM from here on. A stop that
 * overruns its limit (a broker that stopped answering mid-shutdown) ends the process with an
 * error rather than leaving it hanging: what was not committed is re-read by the next start.
 */
export const start = (): void => {
  const limit = (signal: NodeJS.Signals) => {
    // synchronous, and before the runtime's own listener interrupts: it comes before every stop line
    if (runtime !== undefined) Runtime.runSync(runtime)(Effect.logInfo(`${signal} received: stopping`))
    setTimeout(() => {
      console.error(`effect-mm2: stopping took longer than ${STOP_LIMIT_MS / 1_000} s; exiting without waiting further`)
      process.exit(1)
    }, STOP_LIMIT_MS).unref()
  }
  process.once("SIGTERM", limit)
  process.once("SIGINT", limit)
  NodeRuntime.runMain(program, { disableErrorReporting: true, disablePrettyLogger: true })
}
