import { describe, expect, it } from "@effect/vitest"
import {
  checkpointTopics,
  heartbeatTopics,
  remoteTopics,
  replicationHops,
  upstreamClusters
} from "../../../src/client/RemoteTopology.js"
import * as DefaultReplicationPolicy from "../../../src/policy/DefaultReplicationPolicy.js"
import * as IdentityReplicationPolicy from "../../../src/policy/IdentityReplicationPolicy.js"
import type { ReplicationPolicy } from "../../../src/policy/ReplicationPolicy.js"

/** Topics that are internal under every policy and separator used below. */
const internalTopics = [
  "__consumer_offsets",
  "__transaction_state",
  ".hidden",
  "connect-offsets-internal",
  "mm2-offsets.primary.internal",
  "mm2-offset-syncs.backup.internal",
  "primary.checkpoints.internal"
]

describe("RemoteTopology with DefaultReplicationPolicy, separator '.' (spec §10)", () => {
  const policy = DefaultReplicationPolicy.make()
  // cluster C, fed directly by B and (through B) by A
  const clusterC = [
    "orders",
    "heartbeats",
    "B.heartbeats",
    "B.A.heartbeats",
    "B.orders",
    "B.A.orders",
    "heartbeats-x",
    "x.heartbeats.y",
    ...internalTopics
  ]

  it("heartbeatTopics includes the local heartbeats topic and remote copies only", () => {
    expect(heartbeatTopics(policy, clusterC)).toEqual(["B.A.heartbeats", "B.heartbeats", "heartbeats"])
  })

  it("checkpointTopics", () => {
    expect(checkpointTopics(policy, clusterC)).toEqual(["primary.checkpoints.internal"])
    expect(
      checkpointTopics(policy, ["A.checkpoints.internal", "B.checkpoints.internal", "checkpoints.internal", "A.checkpoints"])
    ).toEqual(["A.checkpoints.internal", "B.checkpoints.internal"])
  })

  it("upstreamClusters: every alias along every heartbeat chain, sorted", () => {
    expect(upstreamClusters(policy, clusterC)).toEqual(["A", "B"])
    expect(upstreamClusters(policy, ["heartbeats", "orders"])).toEqual([])
    expect(upstreamClusters(policy, ["z.y.x.heartbeats", "x.heartbeats", "y.x.heartbeats"])).toEqual(["x", "y", "z"])
  })

  it("replicationHops: hops(B)=1, hops(A)=2, hops(C)=-1", () => {
    expect(replicationHops(policy, clusterC, "B")).toBe(1)
    expect(replicationHops(policy, clusterC, "A")).toBe(2)
    expect(replicationHops(policy, clusterC, "C")).toBe(-1)
    expect(replicationHops(policy, [], "A")).toBe(-1)
  })

  it("replicationHops takes the shortest route", () => {
    expect(replicationHops(policy, ["B.A.heartbeats", "A.heartbeats"], "A")).toBe(1)
    expect(replicationHops(policy, ["D.C.B.A.heartbeats", "E.A.heartbeats"], "A")).toBe(2)
  })

  it("cycle guard: a chain stops at its first repeated alias", () => {
    const cyclic = ["A.B.A.heartbeats"]
    expect(replicationHops(policy, cyclic, "A")).toBe(1)
    expect(replicationHops(policy, cyclic, "B")).toBe(2)
    expect(replicationHops(policy, cyclic, "C")).toBe(-1)
    expect(upstreamClusters(policy, cyclic)).toEqual(["A", "B"])
    // as in Java, C beyond the repetition is never reached
    expect(replicationHops(policy, ["A.B.A.C.heartbeats"], "C")).toBe(-1)
    expect(upstreamClusters(policy, ["A.B.A.C.heartbeats"])).toEqual(["A", "B"])
  })

  it("remoteTopics includes remote heartbeats and excludes internal topics", () => {
    expect(remoteTopics(policy, clusterC)).toEqual([
      "B.A.heartbeats",
      "B.A.orders",
      "B.heartbeats",
      "B.orders",
      "x.heartbeats.y"
    ])
    for (const topic of internalTopics) {
      expect(policy.isInternalTopic(topic)).toBe(true)
      expect(remoteTopics(policy, [topic])).toEqual([])
    }
    expect(policy.isInternalTopic("A.heartbeats")).toBe(false)
  })

  it("remoteTopics(source) keeps direct (one-hop) replicas of that source only", () => {
    expect(remoteTopics(policy, clusterC, "B")).toEqual(["B.A.heartbeats", "B.A.orders", "B.heartbeats", "B.orders"])
    expect(remoteTopics(policy, clusterC, "A")).toEqual([])
    expect(remoteTopics(policy, clusterC, "x")).toEqual(["x.heartbeats.y"])
    expect(remoteTopics(policy, ["primary.checkpoints.internal"], "primary")).toEqual([])
  })

  it("a local topic containing the separator looks remote", () => {
    expect(remoteTopics(policy, ["my.local.topic", "orders"])).toEqual(["my.local.topic"])
    expect(remoteTopics(policy, ["my.local.topic"], "my")).toEqual(["my.local.topic"])
  })

  it("accepts any iterable and deduplicates", () => {
    const topics = new Set(["B.orders", "heartbeats", "B.heartbeats"])
    expect(remoteTopics(policy, topics)).toEqual(["B.heartbeats", "B.orders"])
    expect(heartbeatTopics(policy, ["B.heartbeats", "heartbeats", "B.heartbeats"])).toEqual(["B.heartbeats", "heartbeats"])
  })
})

describe("RemoteTopology with DefaultReplicationPolicy, separator '_'", () => {
  const policy = DefaultReplicationPolicy.make({ separator: "_" })
  const cluster = [
    "orders",
    "heartbeats",
    "B_heartbeats",
    "B_A_heartbeats",
    "B_orders",
    "A.heartbeats",
    "primary_checkpoints_internal",
    "mm2-offset-syncs_backup_internal",
    ...internalTopics
  ]

  it("heartbeats are recognised with the configured separator only", () => {
    expect(heartbeatTopics(policy, cluster)).toEqual(["B_A_heartbeats", "B_heartbeats", "heartbeats"])
    expect(upstreamClusters(policy, cluster)).toEqual(["A", "B"])
    expect(replicationHops(policy, cluster, "B")).toBe(1)
    expect(replicationHops(policy, cluster, "A")).toBe(2)
    expect(replicationHops(policy, cluster, "C")).toBe(-1)
  })

  it("checkpoint topics use the separator too (internal-topic separator enabled by default)", () => {
    expect(checkpointTopics(policy, cluster)).toEqual(["primary_checkpoints_internal"])
    const legacy = DefaultReplicationPolicy.make({ separator: "_", internalTopicSeparatorEnabled: false })
    expect(checkpointTopics(legacy, cluster)).toEqual(["primary.checkpoints.internal"])
  })

  it("remoteTopics", () => {
    expect(remoteTopics(policy, cluster)).toEqual(["B_A_heartbeats", "B_heartbeats", "B_orders"])
    expect(remoteTopics(policy, cluster, "B")).toEqual(["B_A_heartbeats", "B_heartbeats", "B_orders"])
    expect(remoteTopics(policy, cluster, "A")).toEqual([])
  })

  it("with the legacy internal separator, '_'-named MM2 topics are no longer internal", () => {
    const legacy = DefaultReplicationPolicy.make({ separator: "_", internalTopicSeparatorEnabled: false })
    expect(remoteTopics(legacy, cluster)).toEqual([
      "B_A_heartbeats",
      "B_heartbeats",
      "B_orders",
      "mm2-offset-syncs_backup_internal",
      "primary_checkpoints_internal"
    ])
  })

  it("a leading separator yields the empty alias (Java parity)", () => {
    expect(heartbeatTopics(policy, ["_heartbeats"])).toEqual(["_heartbeats"])
    expect(upstreamClusters(policy, ["_heartbeats"])).toEqual([""])
    expect(replicationHops(policy, ["_heartbeats"], "")).toBe(1)
    expect(remoteTopics(policy, ["_heartbeats"], "")).toEqual(["_heartbeats"])
  })
})

describe("RemoteTopology with IdentityReplicationPolicy", () => {
  const unconfigured = IdentityReplicationPolicy.make()
  const configured = IdentityReplicationPolicy.make({ sourceClusterAlias: "primary" })
  const cluster = ["orders", "heartbeats", "B.heartbeats", "B.A.heartbeats", "my.local.topic", ...internalTopics]

  it("heartbeat chains are read as with DefaultReplicationPolicy", () => {
    for (const policy of [unconfigured, configured]) {
      expect(heartbeatTopics(policy, cluster)).toEqual(["B.A.heartbeats", "B.heartbeats", "heartbeats"])
      expect(checkpointTopics(policy, cluster)).toEqual(["primary.checkpoints.internal"])
      expect(upstreamClusters(policy, cluster)).toEqual(["A", "B"])
      expect(replicationHops(policy, cluster, "B")).toBe(1)
      expect(replicationHops(policy, cluster, "A")).toBe(2)
      expect(replicationHops(policy, cluster, "primary")).toBe(-1)
    }
  })

  it("without a source alias only prefixed heartbeat topics are remote", () => {
    expect(remoteTopics(unconfigured, cluster)).toEqual(["B.A.heartbeats", "B.heartbeats"])
    // plain suffix test of the policy: anything ending in "heartbeats" follows the Default rules
    expect(remoteTopics(unconfigured, ["x.myheartbeats"])).toEqual(["x.myheartbeats"])
    expect(heartbeatTopics(unconfigured, ["x.myheartbeats", "myheartbeats"])).toEqual([])
  })

  it("with a source alias every other non-internal topic is attributed to it", () => {
    expect(remoteTopics(configured, cluster)).toEqual(["B.A.heartbeats", "B.heartbeats", "my.local.topic", "orders"])
    expect(remoteTopics(configured, cluster, "primary")).toEqual(["my.local.topic", "orders"])
    expect(remoteTopics(configured, cluster, "B")).toEqual(["B.A.heartbeats", "B.heartbeats"])
  })
})

describe("RemoteTopology with a policy that cannot prevent cycles", () => {
  // every topic claims to come from X and to be its own upstream name: the walk must still end
  const looping: ReplicationPolicy = {
    ...DefaultReplicationPolicy.make(),
    topicSource: () => "X",
    upstreamTopic: (topic) => topic,
    isHeartbeatsTopic: (topic) => topic.endsWith("heartbeats")
  }

  it("terminates", () => {
    expect(replicationHops(looping, ["heartbeats"], "X")).toBe(1)
    expect(replicationHops(looping, ["heartbeats"], "Y")).toBe(-1)
    expect(upstreamClusters(looping, ["heartbeats", "other.heartbeats"])).toEqual(["X"])
  })

  it("a source without an upstream name ends the chain", () => {
    const dangling: ReplicationPolicy = { ...looping, upstreamTopic: () => null }
    expect(upstreamClusters(dangling, ["heartbeats"])).toEqual(["X"])
    expect(replicationHops(dangling, ["heartbeats"], "Y")).toBe(-1)
  })
})
