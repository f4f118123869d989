import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { inject } from "vitest"
import { flowProps, uniqueId, writeProps } from "./support/kafka.js"
import { spawnMm2 } from "./support/process.js"

let pid = -1
describe("cleanup", () => {
  it.scopedLive("fails with a running child", () => Effect.gen(function*() {
    const id = uniqueId()
    const file = yield* writeProps(flowProps({ source: `p${id}`, target: `b${id}`, sourceBootstrap: inject("primaryBootstrap"), targetBootstrap: inject("backupBootstrap"), topics: `zz${id}.*` }))
    const child = yield* spawnMm2(["--config", file])
    pid = child.pid
    yield* Effect.sleep("2 seconds")
    expect(child.hasExited()).toBe(false)
    expect(1).toBe(2)
  }), 30_000)
  it("child is gone", () => {
    let alive = true
    try { process.kill(pid, 0) } catch { alive = false }
    expect(pid).toBeGreaterThan(0)
    expect(alive).toBe(false)
  })
  it.scopedLive("times out with a running child", () => Effect.gen(function*() {
    const id = uniqueId()
    const file = yield* writeProps(flowProps({ source: `p${id}`, target: `b${id}`, sourceBootstrap: inject("primaryBootstrap"), targetBootstrap: inject("backupBootstrap"), topics: `zz${id}.*` }))
    const child = yield* spawnMm2(["--config", file])
    pid = child.pid
    yield* Effect.never
  }), 5_000)
  it("child is gone after timeout", async () => {
    await new Promise((r) => setTimeout(r, 3000))
    let alive = true
    try { process.kill(pid, 0) } catch { alive = false }
    expect(alive).toBe(false)
  })
})
