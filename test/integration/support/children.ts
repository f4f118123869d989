/**
 * Last line of defence for child processes a test starts: any still alive when this test worker
 * exits (e.g. it is torn down before a scope could close) are SIGKILLed synchronously on the way
 * out. Scopes stop them first in the normal case; this only covers the abnormal one.
 */
import type { ChildProcess } from "node:child_process"

const live = new Set<ChildProcess>()
let exitHookInstalled = false

/** Tracks `child` until it exits; killed with the worker if it is still alive then. */
export const killWithWorker = (child: ChildProcess): void => {
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.once("exit", () => {
      for (const c of live) {
        try {
          c.kill("SIGKILL")
        } catch {
          // already gone
        }
      }
    })
  }
  live.add(child)
  child.once("exit", () => live.delete(child))
}
