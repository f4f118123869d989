import { describe, expect, it } from "@effect/vitest"
import { Either, Option } from "effect"
import * as Mm2Config from "../../../src/config/Mm2Config.js"
import {
  decode,
  encodeKey,
  encodeValue,
  murmur2,
  offsetsTopicOf,
  partitionFor
} from "../../../src/flow/ConnectOffsets.js"

const bytes = (s: string) => Buffer.from(s, "utf8")

describe("Connect offsets codec (Java MM2's positions, spec 5.6)", () => {
  it("writes the key bytes Java's JsonConverter writes: compact, HashMap member order cluster, partition, topic", () => {
    // the reference bytes were printed by connect-json 4.3.1 (JsonConverter, schemas.enable=false)
    expect(encodeKey({ cluster: "us-west", topic: "orders", partition: 3 }).toString("utf8")).toBe(
      `["MirrorSourceConnector",{"cluster":"us-west","partition":3,"topic":"orders"}]`
    )
    expect(encodeKey({ cluster: "é\"\\/\t", topic: "a.b-c_d", partition: 0 })).toEqual(
      bytes(`["MirrorSourceConnector",{"cluster":"é\\"\\\\/\\t","partition":0,"topic":"a.b-c_d"}]`)
    )
  })

  it("writes the value as the LAST replicated offset, exact beyond 2^53", () => {
    expect(encodeValue(1234n).toString("utf8")).toBe(`{"offset":1234}`)
    expect(encodeValue(9007199254740993n).toString("utf8")).toBe(`{"offset":9007199254740993}`)
  })

  it("reads back what it writes, tombstones, and skips other connectors' and malformed records", () => {
    const key = encodeKey({ cluster: "us-west", topic: "orders", partition: 3 })
    expect(decode(key, encodeValue(9007199254740993n))).toEqual(
      Option.some({ cluster: "us-west", topic: "orders", partition: 3, offset: 9007199254740993n })
    )
    expect(decode(key, null)).toEqual(Option.some({ cluster: "us-west", topic: "orders", partition: 3, offset: null }))
    expect(decode(key, bytes("null"))).toEqual(Option.some({ cluster: "us-west", topic: "orders", partition: 3, offset: null }))
    // Java's member order is not required on reading
    expect(Option.isSome(decode(bytes(`["MirrorSourceConnector",{"topic":"t","partition":0,"cluster":"a"}]`), bytes(`{"offset":0}`)))).toBe(true)
    expect(decode(bytes(`["MirrorCheckpointConnector",{"partition":3,"topic":"a.t","group":"g"}]`), bytes(`{"offset":0}`))).toEqual(Option.none())
    expect(decode(bytes(`["MirrorSourceConnector",{"cluster":"a","partition":-1,"topic":"t"}]`), bytes(`{"offset":0}`))).toEqual(Option.none())
    expect(decode(bytes("not json"), bytes(`{"offset":0}`))).toEqual(Option.none())
    expect(decode(key, bytes(`{"offset":"x"}`))).toEqual(Option.none())
    expect(decode(null, bytes(`{"offset":0}`))).toEqual(Option.none())
  })

  it("hashes like Kafka's Utils.murmur2 and partitions like the Java producer's default partitioner", () => {
    // values printed by kafka-clients 4.3.1 (Utils.murmur2, Utils.toPositive(h) % 25)
    const cases: ReadonlyArray<readonly [string, number, number]> = [
      ["21", -973932308, 15],
      ["foobar", -790332482, 16],
      ["abc", 479470107, 7],
      ["a-little-bit-long-string", -985981536, 12],
      [`["MirrorSourceConnector",{"cluster":"us-west","partition":3,"topic":"orders"}]`, -20675638, 10],
      ["", 275646681, 6],
      ["x", 2121525046, 21]
    ]
    for (const [s, hash, partition] of cases) {
      expect(murmur2(bytes(s))).toBe(hash)
      expect(partitionFor(bytes(s), 25)).toBe(partition)
    }
  })

  it("names the offsets topic as MirrorMakerConfig.workerConfig does: after the SOURCE alias unless configured", () => {
    expect(offsetsTopicOf(new Map(), "us-west")).toEqual({ name: "mm2-offsets.us-west.internal", partitions: 25, replicationFactor: 3 })
    expect(
      offsetsTopicOf(
        new Map([["offset.storage.topic", "custom"], ["offset.storage.partitions", "5"], ["offset.storage.replication.factor", "1"]]),
        "us-west"
      )
    ).toEqual({ name: "custom", partitions: 5, replicationFactor: 1 })
  })
})

describe("effect-mm2.connect.offsets.emit.enabled and the offsets topic name in mm2.properties", () => {
  const resolve = (extra: Record<string, string>) => {
    const props = new Map(Object.entries({
      "clusters": "a, b",
      "a.bootstrap.servers": "localhost:9092",
      "b.bootstrap.servers": "localhost:9093",
      "a->b.enabled": "true",
      ...extra
    }))
    const r = Mm2Config.resolve(props, { file: "t.properties" })
    if (Either.isLeft(r)) throw new Error(r.left.message)
    return r.right
  }
  const flow = (extra: Record<string, string>) => resolve(extra).flows[0]!

  it("is off by default, on globally or per flow (the flow's value wins), and not warned about", () => {
    expect(flow({}).connectOffsetsEmitEnabled).toBe(false)
    expect(flow({ "effect-mm2.connect.offsets.emit.enabled": "true" }).connectOffsetsEmitEnabled).toBe(true)
    expect(flow({ "a->b.effect-mm2.connect.offsets.emit.enabled": "true" }).connectOffsetsEmitEnabled).toBe(true)
    expect(
      flow({ "effect-mm2.connect.offsets.emit.enabled": "true", "a->b.effect-mm2.connect.offsets.emit.enabled": "false" })
        .connectOffsetsEmitEnabled
    ).toBe(false)
    expect(resolve({ "effect-mm2.connect.offsets.emit.enabled": "true", "a->b.effect-mm2.connect.offsets.emit.enabled": "true" }).warnings)
      .toEqual([])
  })

  it("takes offset.storage.topic from <target>.offset.storage.topic, a top-level one winning (as MM2's workerConfig)", () => {
    const topic = (extra: Record<string, string>) => offsetsTopicOf(flow(extra).worker, "a").name
    expect(topic({})).toBe("mm2-offsets.a.internal")
    expect(topic({ "b.offset.storage.topic": "per-target" })).toBe("per-target")
    expect(topic({ "b.offset.storage.topic": "per-target", "offset.storage.topic": "global" })).toBe("global")
  })
})
