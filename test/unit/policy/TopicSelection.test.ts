import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import * as DefaultReplicationPolicy from "../../../src/policy/DefaultReplicationPolicy.js"
import * as IdentityReplicationPolicy from "../../../src/policy/IdentityReplicationPolicy.js"
import * as TopicFilter from "../../../src/policy/TopicFilter.js"
import { isCycle, remoteTopicsOf, shouldReplicateTopic } from "../../../src/policy/TopicSelection.js"

const policy = DefaultReplicationPolicy.make()
const defaultFilter = Either.getOrThrow(TopicFilter.makeTopicFilter())

describe("isCycle (spec §7.3)", () => {
  it("active-active A<->B with the default policy, flow A->B", () => {
    expect(isCycle(policy, "B", "B.orders")).toBe(true)
    expect(isCycle(policy, "B", "C.B.orders")).toBe(true)
    expect(isCycle(policy, "B", "orders")).toBe(false)
    expect(isCycle(policy, "B", "A.orders")).toBe(false)
    expect(isCycle(policy, "B", "C.orders")).toBe(false)
    expect(isCycle(policy, "B", "C.D.orders")).toBe(false)
    expect(isCycle(policy, "B", "B.heartbeats")).toBe(true)
  })

  it("identity policy only protects heartbeats", () => {
    const identity = IdentityReplicationPolicy.make({ sourceClusterAlias: "A" })
    expect(isCycle(identity, "B", "orders")).toBe(false)
    expect(isCycle(identity, "B", "B.heartbeats")).toBe(true)
    expect(isCycle(identity, "B", "C.B.heartbeats")).toBe(true)
    expect(isCycle(identity, "B", "A.heartbeats")).toBe(false)
    // a source alias equal to the target (misconfiguration) is a cycle for every plain topic
    expect(isCycle(IdentityReplicationPolicy.make({ sourceClusterAlias: "B" }), "B", "orders")).toBe(true)
  })
})

describe("shouldReplicateTopic (spec §7.2)", () => {
  const selection = { policy, filter: defaultFilter, targetAlias: "B", heartbeatsReplicationEnabled: true }

  it("replicates local and third-cluster topics, not the target's own (A<->B on A, flow A->B)", () => {
    expect(shouldReplicateTopic(selection, "orders")).toBe(true)
    expect(shouldReplicateTopic(selection, "B.orders")).toBe(false)
    expect(shouldReplicateTopic(selection, "C.B.orders")).toBe(false)
    // multi-hop: C.orders on A becomes A.C.orders on B
    expect(shouldReplicateTopic(selection, "C.orders")).toBe(true)
    expect(policy.formatRemoteTopic("A", "C.orders")).toBe("A.C.orders")
  })

  it("and the reverse flow B->A skips A's topics on B", () => {
    const reverse = { ...selection, targetAlias: "A" }
    expect(shouldReplicateTopic(reverse, "A.orders")).toBe(false)
    expect(shouldReplicateTopic(reverse, "orders")).toBe(true)
  })

  it("never replicates internal topics", () => {
    for (const topic of [
      "__consumer_offsets",
      ".hidden",
      "connect-offsets-internal",
      "mm2-offsets.A.internal",
      "mm2-offset-syncs.B.internal",
      "A.checkpoints.internal",
      "foo.internal"
    ]) {
      expect(shouldReplicateTopic({ ...selection, filter: Either.getOrThrow(TopicFilter.make({ include: [".*"], exclude: [] })) }, topic), topic).toBe(false)
    }
  })

  it("heartbeats bypass the filter, not the internal/cycle checks", () => {
    const nothing = { ...selection, filter: Either.getOrThrow(TopicFilter.make({ include: [], exclude: [] })) }
    expect(shouldReplicateTopic(nothing, "orders")).toBe(false)
    expect(shouldReplicateTopic(nothing, "heartbeats")).toBe(true)
    expect(shouldReplicateTopic(nothing, "C.heartbeats")).toBe(true)
    expect(shouldReplicateTopic(nothing, "B.heartbeats")).toBe(false)
    expect(shouldReplicateTopic(nothing, "C.B.heartbeats")).toBe(false)
    const excluding = { ...selection, filter: Either.getOrThrow(TopicFilter.make({ include: [".*"], exclude: [".*heartbeats"] })) }
    expect(shouldReplicateTopic(excluding, "heartbeats")).toBe(true)
    expect(shouldReplicateTopic({ ...excluding, heartbeatsReplicationEnabled: false }, "heartbeats")).toBe(false)
    expect(shouldReplicateTopic({ ...nothing, heartbeatsReplicationEnabled: false }, "heartbeats")).toBe(false)
    // a name that is both heartbeat-like and internal stays out
    const weird = DefaultReplicationPolicy.make({ separator: "_" })
    expect(shouldReplicateTopic({ ...nothing, policy: weird }, "__x_heartbeats")).toBe(false)
  })

  it("the default filter excludes *.replica", () => {
    expect(shouldReplicateTopic(selection, "x.replica")).toBe(false)
  })
})

describe("remoteTopicsOf (spec §7.4)", () => {
  it("default policy: topics from this source, mapped upstream, without the checkpoints topic", () => {
    const result = remoteTopicsOf({ policy, sourceAlias: "A" }, [
      "A.orders",
      "A.C.orders",
      "A.heartbeats",
      "A.checkpoints.internal",
      "C.orders",
      "orders",
      "heartbeats",
      "mm2-offset-syncs.A.internal"
    ])
    expect([...result]).toEqual([
      ["A.orders", "orders"],
      ["A.C.orders", "C.orders"],
      ["A.heartbeats", "heartbeats"]
    ])
  })

  it("identity policy with the source alias: every target topic except the checkpoints topic", () => {
    const identity = IdentityReplicationPolicy.make({ sourceClusterAlias: "A" })
    const result = remoteTopicsOf({ policy: identity, sourceAlias: "A" }, [
      "orders",
      "A.heartbeats",
      "C.heartbeats",
      "A.checkpoints.internal",
      "heartbeats"
    ])
    expect([...result]).toEqual([
      ["orders", "orders"],
      ["A.heartbeats", "heartbeats"]
    ])
  })
})
