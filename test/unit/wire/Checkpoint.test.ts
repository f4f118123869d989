import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import * as Checkpoint from "../../../src/wire/Checkpoint.js"

describe("Checkpoint wire format (spec 5.3)", () => {
  it("encodes MM2's worked example byte for byte", () => {
    const c = { group: "my-group", topic: "us-west.orders", partition: 3, upstreamOffset: 1000n, offset: 998n, metadata: "" }
    const { key, value } = Checkpoint.encode(c)
    expect(key.toString("hex")).toBe(
      "0008" + Buffer.from("my-group").toString("hex") + "000e" + Buffer.from("us-west.orders").toString("hex") + "00000003"
    )
    expect(key.length).toBe(30)
    expect(value.toString("hex")).toBe("0000" + "00000000000003e8" + "00000000000003e6" + "0000")
    expect(Checkpoint.encode({ ...c, metadata: "m1" }).value.subarray(18).toString("hex")).toBe("00026d31")
  })

  it("round-trips", () => {
    const c = { group: "g", topic: "a.t", partition: 0, upstreamOffset: 5n, offset: 4n, metadata: "meta" }
    const { key, value } = Checkpoint.encode(c)
    expect(Checkpoint.decode(key, value)).toEqual(
      Either.right({ key: { group: "g", topic: "a.t", partition: 0 }, value: { upstreamOffset: 5n, offset: 4n, metadata: "meta" } })
    )
  })
})
