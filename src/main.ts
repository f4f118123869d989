#!/usr/bin/env node
/**
 * `node dist/main.js --config mm2.properties`. SIGINT/SIGTERM interrupt the program: every flow
 * stops fetching, writes what it already fetched, commits its progress, and the process exits 0.
 * Errors are printed once, as one readable message, and exit with code 1.
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { ValidationError } from "@effect/cli"
import { Cause, Console, Effect } from "effect"
import * as Cli from "./cli/Cli.js"

const program = Effect.suspend(() => Cli.run(process.argv)).pipe(
  Effect.tapErrorCause((cause) => {
    if (Cause.isInterruptedOnly(cause)) return Effect.void
    const failures = [...Cause.failures(cause)]
    // @effect/cli already printed what is wrong with the command line
    const ours = failures.filter((e) => !ValidationError.isValidationError(e))
    if (failures.length > 0 && ours.length === 0) return Effect.void
    return Console.error(
      ours.length > 0 ? ours.map((e) => `effect-mm2: ${e instanceof Error ? e.message : String(e)}`).join("\n") : Cause.pretty(cause)
    )
  }),
  Effect.provide(NodeContext.layer)
)

NodeRuntime.runMain(program, { disableErrorReporting: true })
