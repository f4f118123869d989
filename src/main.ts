#!/usr/bin/env node
/**
 * `node dist/main.js mm2.properties` or `node dist/main.js --config mm2.properties`.
 *
 * Loading the program takes a moment (Effect, kafkajs, codecs). A SIGTERM or Ctrl-C in that
 * moment means "do not start": without these early listeners it would kill the process with
 * signal status instead of a clean exit 0. They are removed only once the runtime's own are in
 * place: removing the last listener of a signal closes Node's handle for it, and a signal whose
 * delivery was still pending on that handle would be lost (the process would then run on).
 */
let stopRequested = false
const early = (): void => {
  stopRequested = true
}
process.once("SIGTERM", early)
process.once("SIGINT", early)

const { start } = await import("./cli/Main.js")
if (!stopRequested) start()
process.removeListener("SIGTERM", early)
process.removeListener("SIGINT", early)
