import { describe, expect, it } from "vitest"
import * as Status from "../../../src/cli/Status.js"

describe("status as tables", () => {
  it("pads columns to the widest cell, no trailing spaces", () => {
    expect(Status.table(["A", "BB", "C"], [["xxx", "y", ""], ["z", "wwww", "last"]])).toBe(
      ["A    BB    C", "xxx  y", "z    wwww  last"].join("\n")
    )
  })

  it("renders a report: readiness with reasons, each herder's tasks and partitions", () => {
    const text = Status.render("http://127.0.0.1:9000", {
      at: "2026-01-01T00:00:00.000Z",
      ready: false,
      reasons: ["flow a->b: failed: authentication failed"],
      herders: [{
        herder: "a->b",
        lastHeartbeatAt: null,
        lastCheckpointRoundAt: "2026-01-01T00:00:00.000Z",
        tasks: [{ task: "replication", kind: "replication", state: "failed", since: "2026-01-01T00:00:00.000Z", restarts: 0, lastError: "authentication failed", lostRecords: 0 }],
        partitions: [{
          topic: "orders",
          remoteTopic: "a.orders",
          partition: 0,
          state: "catching-up",
          endOffset: "10",
          replicatedPosition: "4",
          recordsBehind: 6,
          recordsBehindAgeSeconds: 12.5,
          lastReplicatedAt: null,
          lastCheckpointAt: null
        }]
      }]
    })
    expect(text).toContain("effect-mm2 at http://127.0.0.1:9000: NOT READY")
    expect(text).toContain("  - flow a->b: failed: authentication failed")
    expect(text).toContain("herder a->b  (last heartbeat -, last checkpoint round 2026-01-01T00:00:00.000Z)")
    expect(text).toMatch(/replication\s+failed\s+2026-01-01T00:00:00.000Z\s+0\s+authentication failed/)
    expect(text).toMatch(/orders -> a\.orders\s+0\s+catching-up\s+10\s+4\s+6\s+12\.5 s\s+-\s+-/)
  })
})
