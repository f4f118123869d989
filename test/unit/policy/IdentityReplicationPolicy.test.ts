import { describe, expect, it } from "@effect/vitest"
import * as IdentityReplicationPolicy from "../../../src/policy/IdentityReplicationPolicy.js"

describe("IdentityReplicationPolicy (spec §4.3)", () => {
  const configured = IdentityReplicationPolicy.make({ sourceClusterAlias: "us-west" })
  const unconfigured = IdentityReplicationPolicy.make()

  it("has the Java class name", () => {
    expect(configured.className).toBe("org.apache.kafka.connect.mirror.IdentityReplicationPolicy")
  })

  it("keeps plain topic names, prefixes heartbeats", () => {
    for (const policy of [configured, unconfigured]) {
      expect(policy.formatRemoteTopic("us-west", "orders")).toBe("orders")
      expect(policy.formatRemoteTopic("us-west", "heartbeats")).toBe("us-west.heartbeats")
      expect(policy.formatRemoteTopic("us-east", "us-west.heartbeats")).toBe("us-east.us-west.heartbeats")
      // plain suffix test: anything ending in "heartbeats" is treated like one
      expect(policy.formatRemoteTopic("us-west", "myheartbeats")).toBe("us-west.myheartbeats")
    }
  })

  it("topicSource: configured alias for plain topics, Default rules for heartbeats", () => {
    expect(configured.topicSource("orders")).toBe("us-west")
    expect(unconfigured.topicSource("orders")).toBeNull()
    expect(configured.topicSource("us-west.heartbeats")).toBe("us-west")
    expect(unconfigured.topicSource("us-west.heartbeats")).toBe("us-west")
    expect(configured.topicSource("us-east.us-west.heartbeats")).toBe("us-east")
    expect(configured.topicSource("heartbeats")).toBeNull()
    expect(configured.topicSource("my.local.topic")).toBe("us-west")
  })

  it("upstreamTopic / originalTopic", () => {
    for (const policy of [configured, unconfigured]) {
      expect(policy.upstreamTopic("orders")).toBe("orders")
      expect(policy.originalTopic("orders")).toBe("orders")
      expect(policy.originalTopic("my.local.topic")).toBe("my.local.topic")
      expect(policy.upstreamTopic("us-west.heartbeats")).toBe("heartbeats")
      expect(policy.upstreamTopic("us-east.us-west.heartbeats")).toBe("us-west.heartbeats")
      expect(policy.originalTopic("us-east.us-west.heartbeats")).toBe("heartbeats")
      expect(policy.upstreamTopic("heartbeats")).toBeNull()
      expect(policy.originalTopic("heartbeats")).toBe("heartbeats")
    }
  })

  it("heartbeats detection", () => {
    expect(configured.heartbeatsTopic()).toBe("heartbeats")
    expect(configured.isHeartbeatsTopic("heartbeats")).toBe(true)
    expect(configured.isHeartbeatsTopic("us-west.heartbeats")).toBe(true)
    expect(configured.isHeartbeatsTopic("us-east.us-west.heartbeats")).toBe(true)
    expect(configured.isHeartbeatsTopic("myheartbeats")).toBe(false)
    expect(configured.isHeartbeatsTopic("orders")).toBe(false)
  })

  it("internal topics are inherited from Default (with separator rules)", () => {
    expect(configured.offsetSyncsTopic("us-east")).toBe("mm2-offset-syncs.us-east.internal")
    expect(configured.checkpointsTopic("us-west")).toBe("us-west.checkpoints.internal")
    expect(configured.isCheckpointsTopic("us-west.checkpoints.internal")).toBe(true)
    expect(configured.isInternalTopic("__consumer_offsets")).toBe(true)
    expect(configured.isInternalTopic("orders")).toBe(false)
    const underscore = IdentityReplicationPolicy.make({ separator: "_", sourceClusterAlias: "A" })
    expect(underscore.checkpointsTopic("A")).toBe("A_checkpoints_internal")
    expect(underscore.formatRemoteTopic("A", "heartbeats")).toBe("A_heartbeats")
    expect(underscore.formatRemoteTopic("A", "orders")).toBe("orders")
    expect(underscore.isHeartbeatsTopic("B_A_heartbeats")).toBe(true)
  })
})
