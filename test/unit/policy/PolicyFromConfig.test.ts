import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit } from "effect"
import * as PolicyFromConfig from "../../../src/policy/PolicyFromConfig.js"
import { ReplicationPolicyService } from "../../../src/policy/ReplicationPolicy.js"

const DEFAULT = "org.apache.kafka.connect.mirror.DefaultReplicationPolicy"
const IDENTITY = "org.apache.kafka.connect.mirror.IdentityReplicationPolicy"

describe("PolicyFromConfig.fromClassName", () => {
  it("accepts the fully-qualified and simple names", () => {
    for (const [name, expected] of [
      [DEFAULT, DEFAULT],
      ["DefaultReplicationPolicy", DEFAULT],
      [IDENTITY, IDENTITY],
      ["IdentityReplicationPolicy", IDENTITY],
      [`  ${IDENTITY} `, IDENTITY]
    ] as const) {
      const result = PolicyFromConfig.fromClassName(name, {})
      expect(Either.isRight(result) && result.right.className).toBe(expected)
    }
  })

  it("passes options through", () => {
    const policy = Either.getOrThrow(PolicyFromConfig.fromClassName(IDENTITY, { sourceClusterAlias: "A" }))
    expect(policy.topicSource("orders")).toBe("A")
    const underscore = Either.getOrThrow(PolicyFromConfig.fromClassName(DEFAULT, { separator: "_" }))
    expect(underscore.formatRemoteTopic("A", "t")).toBe("A_t")
  })

  it("rejects anything else with a tagged error naming the key", () => {
    const result = PolicyFromConfig.fromClassName("com.example.PrefixlessReplicationPolicy", {})
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      const error = result.left
      expect(error._tag).toBe("UnknownReplicationPolicy")
      expect(error.key).toBe("replication.policy.class")
      expect(error.className).toBe("com.example.PrefixlessReplicationPolicy")
      expect(error.message).toContain("com.example.PrefixlessReplicationPolicy")
      expect(error.message).toContain("replication.policy.class")
      expect(error.message).toContain(DEFAULT)
      expect(error.message).toContain(IDENTITY)
    }
  })
})

describe("PolicyFromConfig.fromConfig", () => {
  it("defaults to DefaultReplicationPolicy and reads the raw keys", () => {
    const policy = Either.getOrThrow(PolicyFromConfig.fromConfig({}))
    expect(policy.className).toBe(DEFAULT)
    const configured = Either.getOrThrow(
      PolicyFromConfig.fromConfig({
        "replication.policy.separator": "_",
        "replication.policy.internal.topic.separator.enabled": "FALSE"
      })
    )
    expect(configured.formatRemoteTopic("A", "t")).toBe("A_t")
    expect(configured.checkpointsTopic("A")).toBe("A.checkpoints.internal")
    const identity = Either.getOrThrow(
      PolicyFromConfig.fromConfig({ "replication.policy.class": IDENTITY, "source.cluster.alias": "A" })
    )
    expect(identity.topicSource("orders")).toBe("A")
  })

  it("Boolean.parseBoolean semantics for the flag", () => {
    expect(PolicyFromConfig.optionsFromConfig({ "replication.policy.internal.topic.separator.enabled": "True" }))
      .toMatchObject({ internalTopicSeparatorEnabled: true })
    expect(PolicyFromConfig.optionsFromConfig({ "replication.policy.internal.topic.separator.enabled": "yes" }))
      .toMatchObject({ internalTopicSeparatorEnabled: false })
    expect(PolicyFromConfig.optionsFromConfig({}).internalTopicSeparatorEnabled).toBeUndefined()
  })
})

describe("ReplicationPolicyService", () => {
  it.effect("layer provides the configured policy", () =>
    Effect.gen(function* () {
      const policy = yield* ReplicationPolicyService
      expect(policy.className).toBe(IDENTITY)
      expect(policy.formatRemoteTopic("A", "orders")).toBe("orders")
    }).pipe(Effect.provide(ReplicationPolicyService.layer({ className: IDENTITY, sourceClusterAlias: "A" })))
  )

  it.effect("layer defaults to DefaultReplicationPolicy", () =>
    Effect.gen(function* () {
      const policy = yield* ReplicationPolicyService
      expect(policy.formatRemoteTopic("A", "orders")).toBe("A.orders")
    }).pipe(Effect.provide(ReplicationPolicyService.layer({})))
  )

  it.effect("layer fails on an unknown class", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        ReplicationPolicyService.pipe(Effect.provide(ReplicationPolicyService.layer({ className: "x.Y" })))
      )
      expect(Exit.isFailure(exit)).toBe(true)
      const error = yield* Effect.flip(
        ReplicationPolicyService.pipe(Effect.provide(ReplicationPolicyService.layer({ className: "x.Y" })))
      )
      expect(error._tag).toBe("UnknownReplicationPolicy")
    })
  )
})
