#!/usr/bin/env node
/**
 * `node dist/main.js --config mm2.properties`. SIGINT/SIGTERM interrupt the program: every flow
 * stops fetching, writes what it already fetched, commits its progress, and the process exits 0.
 * Errors are printed once, as one readable message, and exit with code 1.
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect } from "effect"
import * as Cli from "./cli/Cli.js"

const program = Effect.suspend(() => Cli.run(process.argv)).pipe(
  Effect.tapErrorCause((cause) =>
    Cause.isInterruptedOnly(cause)
      ? Effect.void
      : Console.error(
        Cause.failures(cause).pipe((fs) => [...fs].map((e) => `effect-mm2: ${messageOf(e)}`).join("\n")) ||
          Cause.pretty(cause)
      )
  ),
  Effect.provide(NodeContext.layer)
)

function messageOf(e: unknown): string {
  if (typeof e === "object" && e !== null && "_tag" in e && (e as { _tag: unknown })._tag === "ValidationError") {
    return "invalid command line (see --help)"
  }
  return e instanceof Error ? e.message : String(e)
}

NodeRuntime.runMain(program, { disableErrorReporting: true })
