/**
 * Our Metadata v10-v12 request (topic ids, which kafkajs's Metadata v6 lacks): the request bytes
 * per version, and a response as a broker writes it. The live brokers are in the integration tests.
 */
import { describe, expect, it } from "@effect/vitest"
import { topicIdsRequest, uuidString } from "../../../src/kafka/internal/metadataRequest.js"

const int16 = (v: number) => {
  const b = Buffer.alloc(2)
  b.writeInt16BE(v)
  return b
}
const int32 = (v: number) => {
  const b = Buffer.alloc(4)
  b.writeInt32BE(v)
  return b
}
const str = (s: string) => Buffer.concat([Buffer.from([Buffer.byteLength(s) + 1]), Buffer.from(s)])
const arr = (items: ReadonlyArray<Buffer>) => Buffer.concat([Buffer.from([items.length + 1]), ...items])
const NO_TAGS = Buffer.from([0])
const NULL = Buffer.from([0])

const ID = Buffer.from("31b39cc93b5646a2b2af841173ed90c9", "hex")

const topic = (errorCode: number, name: string, id: Buffer, partitions: number) =>
  Buffer.concat([
    int16(errorCode),
    str(name),
    id,
    Buffer.from([0]), // not internal
    arr(Array.from({ length: partitions }, (_, p) =>
      Buffer.concat([int16(0), int32(p), int32(1), int32(0), arr([int32(1)]), arr([int32(1)]), arr([]), NO_TAGS]))),
    int32(-2147483648), // authorized operations not asked for
    NO_TAGS
  ])

const response = (trailer: Buffer) =>
  Buffer.concat([
    NO_TAGS, // response header
    int32(0), // throttle
    arr([Buffer.concat([int32(1), str("localhost"), int32(9092), NULL, NO_TAGS])]),
    str("cluster-id"),
    int32(1),
    arr([topic(0, "orders", ID, 3), topic(3, "gone", Buffer.alloc(16), 0)]),
    trailer,
    NO_TAGS
  ])

describe("Metadata request with topic ids", () => {
  it("v12 and v11 ask by name, no auto-creation, no authorized operations", async () => {
    const { request } = topicIdsRequest(["orders"])
    expect([request.apiKey, request.apiVersion]).toEqual([3, 12])
    const { buffer } = await request.encode()
    expect(buffer).toEqual(Buffer.concat([NO_TAGS, arr([Buffer.concat([Buffer.alloc(16), str("orders"), NO_TAGS])]), Buffer.from([0, 0]), NO_TAGS]))
  })

  it("v10 also says it wants no cluster authorized operations", async () => {
    const { buffer } = await topicIdsRequest(["orders"], 10).request.encode()
    expect(buffer).toEqual(Buffer.concat([NO_TAGS, arr([Buffer.concat([Buffer.alloc(16), str("orders"), NO_TAGS])]), Buffer.from([0, 0, 0]), NO_TAGS]))
  })

  it("reads the topic id as Kafka prints it, and a topic the broker does not know with its error", async () => {
    const expected = [
      { name: "orders", topicId: "MbOcyTtWRqKyr4QRc-2QyQ", errorCode: 0, partitions: 3 },
      { name: "gone", topicId: undefined, errorCode: 3, partitions: 0 }
    ]
    // v11/v12: nothing after the topics; v10: the cluster's authorized operations
    expect(await topicIdsRequest(["orders", "gone"]).response.decode(response(Buffer.alloc(0)))).toEqual(expected)
    expect(await topicIdsRequest(["orders", "gone"], 10).response.decode(response(int32(-2147483648)))).toEqual(expected)
    expect(uuidString(ID)).toBe("MbOcyTtWRqKyr4QRc-2QyQ")
  })
})
