import { describe, expect, it } from "@effect/vitest"
import * as DefaultReplicationPolicy from "../../../src/policy/DefaultReplicationPolicy.js"

describe("DefaultReplicationPolicy, separator '.' (spec §4.2)", () => {
  const policy = DefaultReplicationPolicy.make()

  it("has the Java class name", () => {
    expect(policy.className).toBe("org.apache.kafka.connect.mirror.DefaultReplicationPolicy")
  })

  it("formats remote topics", () => {
    expect(policy.formatRemoteTopic("us-west", "orders")).toBe("us-west.orders")
  })

  it("one-hop remote topic", () => {
    expect(policy.topicSource("us-west.orders")).toBe("us-west")
    expect(policy.upstreamTopic("us-west.orders")).toBe("orders")
    expect(policy.originalTopic("us-west.orders")).toBe("orders")
  })

  it("two-hop remote topic", () => {
    expect(policy.topicSource("us-east.us-west.orders")).toBe("us-east")
    expect(policy.upstreamTopic("us-east.us-west.orders")).toBe("us-west.orders")
    expect(policy.originalTopic("us-east.us-west.orders")).toBe("orders")
  })

  it("local topic", () => {
    expect(policy.topicSource("orders")).toBeNull()
    expect(policy.upstreamTopic("orders")).toBeNull()
    expect(policy.originalTopic("orders")).toBe("orders")
  })

  it("a local topic containing the separator looks remote", () => {
    expect(policy.topicSource("my.local.topic")).toBe("my")
    expect(policy.upstreamTopic("my.local.topic")).toBe("local.topic")
    expect(policy.originalTopic("my.local.topic")).toBe("topic")
  })

  it("multi-hop originalTopic", () => {
    expect(policy.originalTopic("a.b.c.d.orders")).toBe("orders")
    expect(policy.upstreamTopic("a.b.c.d.orders")).toBe("b.c.d.orders")
  })

  it("topicSource edge cases follow Java String.split", () => {
    expect(policy.topicSource("foo.")).toBeNull()
    expect(policy.upstreamTopic("foo.")).toBeNull()
    expect(policy.topicSource("a..b")).toBe("a")
    expect(policy.upstreamTopic("a..b")).toBe(".b")
    expect(policy.topicSource(".foo")).toBe("")
    expect(policy.upstreamTopic(".foo")).toBe("foo")
    expect(policy.topicSource("foo..")).toBeNull()
    expect(policy.topicSource("a.b.")).toBe("a")
    expect(policy.upstreamTopic("a.b.")).toBe("b.")
    expect(policy.topicSource(".")).toBeNull()
    expect(policy.topicSource("")).toBeNull()
  })

  it("internal topic names", () => {
    expect(policy.heartbeatsTopic()).toBe("heartbeats")
    expect(policy.offsetSyncsTopic("us-east")).toBe("mm2-offset-syncs.us-east.internal")
    expect(policy.checkpointsTopic("us-west")).toBe("us-west.checkpoints.internal")
  })

  it("isHeartbeatsTopic", () => {
    expect(policy.isHeartbeatsTopic("heartbeats")).toBe(true)
    expect(policy.isHeartbeatsTopic("us-west.heartbeats")).toBe(true)
    expect(policy.isHeartbeatsTopic("us-east.us-west.heartbeats")).toBe(true)
    expect(policy.isHeartbeatsTopic("heartbeats-x")).toBe(false)
    expect(policy.isHeartbeatsTopic("x.heartbeats.y")).toBe(false)
    expect(policy.isHeartbeatsTopic("myheartbeats")).toBe(false)
  })

  it("isCheckpointsTopic / isMM2InternalTopic", () => {
    expect(policy.isCheckpointsTopic("us-west.checkpoints.internal")).toBe(true)
    expect(policy.isCheckpointsTopic("us-west.checkpoints")).toBe(false)
    expect(policy.isMM2InternalTopic("mm2-offsets.us-west.internal")).toBe(true)
    expect(policy.isMM2InternalTopic("orders")).toBe(false)
  })

  it("isInternalTopic", () => {
    expect(policy.isInternalTopic("__consumer_offsets")).toBe(true)
    expect(policy.isInternalTopic(".hidden")).toBe(true)
    expect(policy.isInternalTopic("connect-offsets-internal")).toBe(true)
    expect(policy.isInternalTopic("mm2-status.A.internal")).toBe(true)
    expect(policy.isInternalTopic("mm2-offset-syncs.B.internal")).toBe(true)
    expect(policy.isInternalTopic("A.checkpoints.internal")).toBe(true)
    expect(policy.isInternalTopic("orders")).toBe(false)
    expect(policy.isInternalTopic("A.orders")).toBe(false)
    expect(policy.isInternalTopic("_single_underscore")).toBe(false)
  })

  it("an explicitly configured '.' separator behaves the same, whatever the flag", () => {
    for (const flag of [true, false]) {
      const p = DefaultReplicationPolicy.make({ separator: ".", internalTopicSeparatorEnabled: flag })
      expect(p.formatRemoteTopic("us-west", "orders")).toBe("us-west.orders")
      expect(p.offsetSyncsTopic("us-east")).toBe("mm2-offset-syncs.us-east.internal")
      expect(p.checkpointsTopic("us-west")).toBe("us-west.checkpoints.internal")
    }
  })
})

describe("DefaultReplicationPolicy, separator '_' (spec §4.2)", () => {
  const shared = (flag: boolean | undefined) => {
    const policy = DefaultReplicationPolicy.make({ separator: "_", internalTopicSeparatorEnabled: flag })
    expect(policy.formatRemoteTopic("us-west", "orders")).toBe("us-west_orders")
    expect(policy.topicSource("us-west_orders")).toBe("us-west")
    expect(policy.upstreamTopic("us-west_orders")).toBe("orders")
    expect(policy.topicSource("us-east_us-west_orders")).toBe("us-east")
    expect(policy.upstreamTopic("us-east_us-west_orders")).toBe("us-west_orders")
    expect(policy.originalTopic("us-east_us-west_orders")).toBe("orders")
    expect(policy.topicSource("us-west.orders")).toBeNull()
    expect(policy.originalTopic("orders")).toBe("orders")
    expect(policy.heartbeatsTopic()).toBe("heartbeats")
    expect(policy.formatRemoteTopic("us-west", "heartbeats")).toBe("us-west_heartbeats")
    expect(policy.isHeartbeatsTopic("us-west_heartbeats")).toBe(true)
    expect(policy.isHeartbeatsTopic("us-east_us-west_heartbeats")).toBe(true)
    expect(policy.isHeartbeatsTopic("us-west.heartbeats")).toBe(false)
    // Connect's conventional names always count as internal, whatever the separator
    expect(policy.isInternalTopic("mm2-status.A.internal")).toBe(true)
    expect(policy.isInternalTopic("connect-offsets-internal")).toBe(true)
    expect(policy.isInternalTopic("__consumer_offsets")).toBe(true)
    expect(policy.isInternalTopic("orders")).toBe(false)
    return policy
  }

  it("flag true (default) uses the separator for internal topics", () => {
    for (const flag of [true, undefined]) {
      const policy = shared(flag)
      expect(policy.offsetSyncsTopic("us-east")).toBe("mm2-offset-syncs_us-east_internal")
      expect(policy.checkpointsTopic("us-west")).toBe("us-west_checkpoints_internal")
      expect(policy.isCheckpointsTopic("us-west_checkpoints_internal")).toBe(true)
      expect(policy.isCheckpointsTopic("us-west.checkpoints.internal")).toBe(false)
      expect(policy.isMM2InternalTopic("mm2-offset-syncs_us-east_internal")).toBe(true)
      expect(policy.isMM2InternalTopic("foo_internal")).toBe(true)
      expect(policy.isInternalTopic("foo_internal")).toBe(true)
      expect(policy.isInternalTopic("us-west_checkpoints_internal")).toBe(true)
    }
  })

  it("flag false keeps '.' for internal topics", () => {
    const policy = shared(false)
    expect(policy.offsetSyncsTopic("us-east")).toBe("mm2-offset-syncs.us-east.internal")
    expect(policy.checkpointsTopic("us-west")).toBe("us-west.checkpoints.internal")
    expect(policy.isCheckpointsTopic("us-west.checkpoints.internal")).toBe(true)
    expect(policy.isCheckpointsTopic("us-west_checkpoints_internal")).toBe(false)
    expect(policy.isMM2InternalTopic("mm2-offset-syncs.us-east.internal")).toBe(true)
    expect(policy.isMM2InternalTopic("foo_internal")).toBe(false)
    expect(policy.isInternalTopic("foo_internal")).toBe(false)
  })

  it("the flag alone (no separator configured) changes nothing", () => {
    const policy = DefaultReplicationPolicy.make({ internalTopicSeparatorEnabled: false })
    expect(policy.formatRemoteTopic("a", "t")).toBe("a.t")
    expect(policy.offsetSyncsTopic("a")).toBe("mm2-offset-syncs.a.internal")
  })

  it("multi-character separators split literally", () => {
    const policy = DefaultReplicationPolicy.make({ separator: "__" })
    expect(policy.formatRemoteTopic("a", "x.y")).toBe("a__x.y")
    expect(policy.topicSource("a__b__x.y")).toBe("a")
    expect(policy.upstreamTopic("a__b__x.y")).toBe("b__x.y")
    expect(policy.originalTopic("a__b__x.y")).toBe("x.y")
    expect(policy.topicSource("a.b")).toBeNull()
    const dotStar = DefaultReplicationPolicy.make({ separator: ".*" })
    expect(dotStar.topicSource("a.*b")).toBe("a")
    expect(dotStar.topicSource("ab")).toBeNull()
  })
})

describe("splitLikeJava", () => {
  it("drops trailing empty pieces only", () => {
    expect(DefaultReplicationPolicy.splitLikeJava("a..b..", ".")).toEqual(["a", "", "b"])
    expect(DefaultReplicationPolicy.splitLikeJava(".a", ".")).toEqual(["", "a"])
    expect(DefaultReplicationPolicy.splitLikeJava("...", ".")).toEqual([])
    expect(DefaultReplicationPolicy.splitLikeJava("abc", ".")).toEqual(["abc"])
  })
})
