import { describe, expect, it } from "@effect/vitest"
import { creationConfigs, syncOperations } from "../../../src/flow/TopicConfigs.js"
import type { ConfigSource, TopicConfigEntry } from "../../../src/kafka/KafkaClient.js"

const entry = (name: string, value: string | null, source: ConfigSource, extra: Partial<TopicConfigEntry> = {}): TopicConfigEntry => ({
  name,
  value,
  source,
  readOnly: false,
  sensitive: false,
  ...extra
})

const MM2_EXCLUDES = new Set(["min.insync.replicas", "message.timestamp.type", "unclean.leader.election.enable"])
const target = { isExcluded: (n: string) => MM2_EXCLUDES.has(n), useDefaultsFrom: "target" as const }
const source = { ...target, useDefaultsFrom: "source" as const }

const sourceConfig: ReadonlyArray<TopicConfigEntry> = [
  entry("retention.ms", "3600000", "topic"),
  entry("cleanup.policy", "delete", "default"),
  entry("compression.type", "zstd", "dynamic-default-broker"),
  entry("segment.bytes", "1048576", "static-broker"),
  entry("min.insync.replicas", "2", "topic"),
  entry("message.format.version", "3.0-IV1", "default", { readOnly: true }),
  entry("secret.thing", "x", "topic", { sensitive: true })
]

describe("TopicConfigs", () => {
  it("creates a remote topic with the source's non-default, copyable values", () => {
    expect(creationConfigs(sourceConfig, target)).toEqual([
      { name: "retention.ms", value: "3600000" },
      { name: "compression.type", value: "zstd" }
    ])
  })

  it("with use.defaults.from = source, the source's defaults are written too", () => {
    expect(creationConfigs(sourceConfig, source)).toEqual([
      { name: "retention.ms", value: "3600000" },
      { name: "cleanup.policy", value: "delete" },
      { name: "compression.type", value: "zstd" }
    ])
  })

  it("sync writes nothing when the remote topic agrees", () => {
    const remote = [
      entry("retention.ms", "3600000", "topic"),
      entry("cleanup.policy", "delete", "default"),
      entry("compression.type", "zstd", "topic"),
      entry("min.insync.replicas", "1", "topic")
    ]
    expect(syncOperations(sourceConfig, remote, target)).toEqual([])
  })

  it("sync sets changed values, reverts target-side edits and removes overrides of source defaults", () => {
    const remote = [
      entry("retention.ms", "7200000", "topic"), // edited on the target: reverted
      entry("cleanup.policy", "compact", "topic"), // an override where the source has its default: removed
      entry("compression.type", "producer", "default"), // not yet an override: set
      entry("min.insync.replicas", "1", "topic") // excluded: left alone
    ]
    expect(syncOperations(sourceConfig, remote, target)).toEqual([
      { op: "set", name: "retention.ms", value: "3600000" },
      { op: "delete", name: "cleanup.policy" },
      { op: "set", name: "compression.type", value: "zstd" }
    ])
  })

  it("with use.defaults.from = source, a source default is set on the remote topic", () => {
    const remote = [entry("retention.ms", "3600000", "topic"), entry("cleanup.policy", "compact", "topic"), entry("compression.type", "zstd", "topic")]
    expect(syncOperations(sourceConfig, remote, source)).toEqual([{ op: "set", name: "cleanup.policy", value: "delete" }])
  })

  it("a user exclude list replaces MM2's: min.insync.replicas is copied once it is no longer excluded", () => {
    const own = { isExcluded: (n: string) => n === "retention.ms", useDefaultsFrom: "target" as const }
    expect(creationConfigs(sourceConfig, own)).toEqual([
      { name: "compression.type", value: "zstd" },
      { name: "min.insync.replicas", value: "2" }
    ])
  })
})
