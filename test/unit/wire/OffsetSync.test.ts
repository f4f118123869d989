import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import * as OffsetSync from "../../../src/wire/OffsetSync.js"

describe("OffsetSync wire format (spec 5.2)", () => {
  it("encodes MM2's worked example byte for byte", () => {
    const { key, value } = OffsetSync.encode({ topic: "orders", partition: 3, upstreamOffset: 1000n, offset: 998n })
    expect(key.toString("hex")).toBe("0006" + Buffer.from("orders").toString("hex") + "00000003")
    expect(value.toString("hex")).toBe("00000000000003e8" + "00000000000003e6")
  })

  it("round-trips, and rejects a truncated value", () => {
    const s = { topic: "t", partition: 0, upstreamOffset: 2n ** 62n, offset: 0n }
    const { key, value } = OffsetSync.encode(s)
    expect(OffsetSync.decode(key, value)).toEqual(
      Either.right({ key: { topic: "t", partition: 0 }, value: { upstreamOffset: 2n ** 62n, offset: 0n } })
    )
    expect(Either.isLeft(OffsetSync.decode(key, value.subarray(0, 12)))).toBe(true)
  })
})
