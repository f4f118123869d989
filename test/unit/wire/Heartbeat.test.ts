import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import * as Heartbeat from "../../../src/wire/Heartbeat.js"

describe("Heartbeat wire format (spec 5.4)", () => {
  it("encodes MM2's worked example byte for byte", () => {
    const { key, value } = Heartbeat.encode({
      sourceClusterAlias: "us-west",
      targetClusterAlias: "us-east",
      timestamp: 1700000000000n
    })
    expect(key.toString("hex")).toBe("0007" + Buffer.from("us-west").toString("hex") + "0007" + Buffer.from("us-east").toString("hex"))
    expect(value.toString("hex")).toBe("0000" + "0000018bcfe56800")
  })

  it("decodes what it encodes, ignoring trailing bytes as MM2 does", () => {
    const h = { sourceClusterAlias: "prïmary", targetClusterAlias: "b", timestamp: 1n }
    const { key, value } = Heartbeat.encode(h)
    const decoded = Heartbeat.decode(key, Buffer.concat([value, Buffer.from([1, 2, 3])]))
    expect(decoded).toEqual(Either.right({ key: { sourceClusterAlias: "prïmary", targetClusterAlias: "b" }, value: { timestamp: 1n } }))
  })

  it("rejects truncated records, and reads a later version with the version-0 layout as MM2 does", () => {
    const { key, value } = Heartbeat.encode({ sourceClusterAlias: "a", targetClusterAlias: "b", timestamp: 5n })
    expect(Either.isLeft(Heartbeat.decode(key.subarray(0, 4), value))).toBe(true)
    const v1 = Buffer.from(value)
    v1.writeInt16BE(1, 0)
    expect(Heartbeat.decode(key, v1)).toEqual(Either.right({ key: { sourceClusterAlias: "a", targetClusterAlias: "b" }, value: { timestamp: 5n } }))
  })
})
