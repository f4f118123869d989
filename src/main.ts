#!/usr/bin/env node
/**
 * `node dist/main.js mm2.properties` or `node dist/main.js --config mm2.properties`.
 *
 * Loading the program takes a moment (Effect, kafkajs, codecs). A SIGTERM or Ctrl-C in that
 * moment means "do not start": without these early handlers it would kill the process with
 * signal status instead of a clean exit 0. Once the program runs, its runtime handles them.
 */
let stopRequested = false
const early = (): void => {
  stopRequested = true
}
process.once("SIGTERM", early)
process.once("SIGINT", early)

const { start } = await import("./cli/Main.js")
process.removeListener("SIGTERM", early)
process.removeListener("SIGINT", early)
if (!stopRequested) start()
