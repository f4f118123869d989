import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Mm2 from "../../../src/config/Mm2Config.js"
import { BASE, flowOf, invalidOf, settingsOf } from "./helpers.js"

const ENABLED = `${BASE}primary->backup.enabled = true\n`
const flow = (extra: string) => flowOf(settingsOf(`${ENABLED}${extra}`), "primary->backup")

describe("defaults (spec 3.1-3.4)", () => {
  it("fills every connector setting with MM2's default", () => {
    const f = flow("")
    expect(f).toMatchObject({
      source: "primary",
      target: "backup",
      name: "primary->backup",
      topics: [".*"],
      topicsExclude: [".*[\\-\\.]internal", ".*\\.replica", "__.*"],
      replicationPolicyClass: "org.apache.kafka.connect.mirror.DefaultReplicationPolicy",
      replicationPolicySeparator: ".",
      internalTopicSeparatorEnabled: true,
      replicationFactor: 2,
      refreshTopicsEnabled: true,
      refreshTopicsIntervalSeconds: 600,
      offsetFlushIntervalMs: 5000,
      consumerPollTimeoutMs: 1000,
      offsetLagMax: 100,
      emitOffsetSyncsEnabled: true,
      offsetSyncsTopicLocation: "source",
      offsetSyncsTopicReplicationFactor: 3,
      heartbeatsReplicationEnabled: true,
      syncTopicConfigsEnabled: true,
      syncTopicConfigsIntervalSeconds: 600,
      syncTopicAclsEnabled: true,
      syncTopicAclsIntervalSeconds: 600,
      emitHeartbeatsEnabled: true,
      emitHeartbeatsIntervalSeconds: 1,
      heartbeatsTopicReplicationFactor: 3,
      checkpointsTopicReplicationFactor: 3,
      emitCheckpointsEnabled: true,
      emitCheckpointsIntervalSeconds: 60,
      syncGroupOffsetsEnabled: false,
      syncGroupOffsetsIntervalSeconds: 60,
      refreshGroupsEnabled: true,
      refreshGroupsIntervalSeconds: 600,
      groups: [".*"],
      groupsExclude: ["console-consumer-.*", "connect-.*", "__.*"],
      tasksMax: 1,
      adminTimeoutMs: 60000
    })
  })

  it("parses Java-style values", () => {
    const f = flow(`topics = orders ,payments,  audit.*
topics.exclude =
sync.group.offsets.enabled = TRUE
replication.factor = -1
refresh.topics.interval.seconds = -1
offset-syncs.topic.location = target
replication.policy.class = org.apache.kafka.connect.mirror.IdentityReplicationPolicy
`)
    expect(f.topics).toEqual(["orders", "payments", "audit.*"])
    expect(f.topicsExclude).toEqual([])
    expect(f.syncGroupOffsetsEnabled).toBe(true)
    expect(f.replicationFactor).toBe(-1)
    expect(f.refreshTopicsIntervalSeconds).toBe(-1)
    expect(f.offsetSyncsTopicLocation).toBe("target")
    expect(f.replicationPolicyClass).toBe("org.apache.kafka.connect.mirror.IdentityReplicationPolicy")
  })
})

describe("validation", () => {
  it("names file and key for a bad integer", () => {
    const e = invalidOf(`${ENABLED}primary->backup.replication.factor = two\n`)
    expect(e._tag).toBe("InvalidConfig")
    expect(e.file).toBe("mm2.properties")
    expect(e.message).toBe('mm2.properties: primary->backup.replication.factor: expected an integer, got "two"')
  })

  it("collects every issue instead of stopping at the first", () => {
    const e = invalidOf(`${ENABLED}
sync.topic.acls.enabled = yes
replication.factor = 0
tasks.max = 0
offset-syncs.topic.location = Source
replication.policy.class = com.example.MyPolicy
replication.policy.separator =
topics = ok, (unclosed
backup.offset.flush.interval.ms = soon
heartbeats.topic.replication.factor = 99999
`)
    expect(e.issues.map((i) => i.key).sort()).toEqual([
      "backup.offset.flush.interval.ms",
      "heartbeats.topic.replication.factor",
      "offset-syncs.topic.location",
      "replication.factor",
      "replication.policy.class",
      "replication.policy.separator",
      "sync.topic.acls.enabled",
      "tasks.max",
      "topics"
    ])
    const text = e.message
    expect(text).toContain('mm2.properties: sync.topic.acls.enabled: expected true or false, got "yes"')
    expect(text).toContain('mm2.properties: replication.factor: expected -1 (broker default) or at least 1, got "0"')
    expect(text).toContain('mm2.properties: replication.policy.class: unsupported replication policy "com.example.MyPolicy"')
    expect(text).toContain("mm2.properties: backup.offset.flush.interval.ms: expected an integer")
    expect(text).toContain("mm2.properties: heartbeats.topic.replication.factor: expected an integer between -32768 and 32767")
    expect(text).toContain("mm2.properties: topics: invalid regular expression")
    expect(text.split("\n")).toHaveLength(9)
  })

  it("reports a global error once even with several herders", () => {
    const e = invalidOf(`${ENABLED}backup->primary.enabled = true\nemit.checkpoints.enabled = nope\n`)
    expect(e.issues).toHaveLength(1)
  })

  it("validates heartbeat-only herders too", () => {
    const e = invalidOf(`${ENABLED}backup->primary.emit.heartbeats.interval.seconds = often\n`)
    expect(e.issues.map((i) => i.key)).toEqual(["backup->primary.emit.heartbeats.interval.seconds"])
  })
})

describe("warnings", () => {
  const warningsOf = (extra: string) => settingsOf(`${ENABLED}${extra}`).warnings

  it("suggests the known key for a likely typo", () => {
    expect(warningsOf("primary->backup.topic = x\n")).toEqual([
      "mm2.properties: primary->backup.topic: unknown key; did you mean topics?"
    ])
    expect(warningsOf("refresh.topic.interval.seconds = 5\n")).toEqual([
      "mm2.properties: refresh.topic.interval.seconds: unknown key; did you mean refresh.topics.interval.seconds?"
    ])
    expect(warningsOf("primary.bootstrap.server = x\n")).toEqual([
      "mm2.properties: primary.bootstrap.server: unknown key; did you mean bootstrap.servers?"
    ])
  })

  it("flags removed keys at every scope", () => {
    const w = warningsOf("topics.blacklist = a\nprimary->backup.groups.blacklist = b\nuse.incremental.alter.configs = requested\n")
    expect(w).toEqual([
      "mm2.properties: topics.blacklist: removed key, not supported by MM2 4.x either; use topics.exclude",
      "mm2.properties: primary->backup.groups.blacklist: removed key, not supported by MM2 4.x either; use groups.exclude",
      "mm2.properties: use.incremental.alter.configs: removed key, not supported by MM2 4.x either"
    ])
  })

  it("flags flow keys naming clusters not in clusters", () => {
    expect(warningsOf("primary->dr.enabled = true\n")).toEqual([
      'mm2.properties: primary->dr.enabled: refers to cluster "dr", not listed in clusters (primary, backup); ignored'
    ])
  })

  it("flags flow keys without a key part", () => {
    expect(warningsOf("primary->backup = true\n")).toEqual([
      "mm2.properties: primary->backup: not of the form <source>-><target>.<key>; ignored"
    ])
    expect(warningsOf("primary->primary.enabled = true\n")).toEqual([
      "mm2.properties: primary->primary.enabled: a flow from a cluster to itself never runs; ignored"
    ])
  })

  it("flags keys in a scope where MM2 ignores them", () => {
    const w = warningsOf("backup.topics = a\nproducer.acks = 1\noffset.flush.interval.ms = 10\nenabled = true\n")
    expect(w).toHaveLength(4)
    expect(w[0]).toContain("backup.topics: connector setting, which MM2 ignores at cluster scope")
    expect(w[1]).toContain("producer.acks: top-level producer.* settings are ignored by MM2")
    expect(w[2]).toContain("offset.flush.interval.ms: worker setting, ignored at top level")
    expect(w[3]).toContain("enabled: MM2 copies a top-level enabled")
  })

  it("stays quiet about legitimate keys", () => {
    const w = warningsOf(`
primary.consumer.max.poll.records = 500
primary.consumer.isolation.level = read_committed
backup.producer.compression.type = zstd
backup.admin.request.timeout.ms = 1000
primary.ssl.truststore.location = /t.jks
primary.sasl.jaas.config = org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p";
sasl.jaas.config = org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p";
sasl.mechanism = SCRAM-SHA-512
backup.offset.flush.interval.ms = 1000
backup.exactly.once.source.support = enabled
primary->backup.producer.override.linger.ms = 5
primary->backup.source.consumer.fetch.min.bytes = 1
primary->backup.target.admin.retries = 3
primary->backup.use.defaults.from = source
primary->backup.sync.group.offsets.enabled = true
primary->backup.some.custom.key = 1
security.protocol = SASL_PLAINTEXT
offset.storage.replication.factor = 1
tasks.max = 2
replication.policy.separator = .
dedicated.mode.enable.internal.rest = false
listeners = http://:8083
`)
    expect(w).toEqual([])
  })
})

describe("describe", () => {
  const text = `${ENABLED}
security.protocol = SASL_SSL
sasl.mechanism = PLAIN
sasl.jaas.config = org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="s3cret";
primary.ssl.truststore.password = hunter2
backup.producer.compression.type = zstd
primary->backup.topic = x
`
  const out = Mm2.describe(settingsOf(text))

  it("starts with MM2's start-up line", () => {
    expect(out.split("\n")[0]).toBe("Starting with 1 enabled replication flows: [primary->backup]")
    const two = Mm2.describe(settingsOf(`${ENABLED}backup->primary.enabled = true\n`))
    expect(two.split("\n")[0]).toBe("Starting with 2 enabled replication flows: [primary->backup, backup->primary]")
  })

  it("lists effective settings sorted, one per line", () => {
    expect(out).toContain("\nreplication.factor = 2\n")
    expect(out).toContain("\ntarget.producer.compression.type = zstd\n")
    const block = out.split("\n[primary->backup]\n")[1]?.split("\n\n")[0]?.split("\n") ?? []
    const keys = block.map((l) => l.split(" = ")[0] ?? "")
    expect(keys).toEqual([...keys].sort())
    expect(keys.length).toBeGreaterThan(30)
  })

  it("redacts secrets", () => {
    expect(out).not.toContain("s3cret")
    expect(out).not.toContain("hunter2")
    expect(out).toContain("source.consumer.sasl.jaas.config = [hidden]")
    expect(out).toContain("source.admin.ssl.truststore.password = [hidden]")
  })

  it("ends with the warnings", () => {
    expect(out.trimEnd().split("\n").at(-1)).toBe(
      "  mm2.properties: primary->backup.topic: unknown key; did you mean topics?"
    )
  })
})

describe("load and Mm2Config", () => {
  const dir = mkdtempSync(join(tmpdir(), "mm2-config-"))
  const write = (name: string, content: string) => {
    const file = join(dir, name)
    writeFileSync(file, content)
    return file
  }

  it.effect("loads and resolves a file", () =>
    Effect.gen(function*() {
      const file = write("ok.properties", `${ENABLED}# comment\n`)
      const settings = yield* Mm2.load(file)
      expect(settings.file).toBe(file)
      expect(settings.flows.map((f) => f.name)).toEqual(["primary->backup"])
    }))

  it.effect("applies the --clusters filter", () =>
    Effect.gen(function*() {
      const file = write("filter.properties", ENABLED)
      const settings = yield* Mm2.load(file, { clusters: ["primary"] })
      expect(settings.flows).toEqual([])
      expect(settings.herderPairs.map((h) => h.settings.name)).toEqual(["backup->primary"])
    }))

  it.effect("fails with InvalidConfig naming the file", () =>
    Effect.gen(function*() {
      const file = write("bad.properties", `${ENABLED}primary->backup.replication.factor = two\n`)
      const error = yield* Effect.flip(Mm2.load(file))
      expect(error._tag).toBe("InvalidConfig")
      expect(error.message).toBe(`${file}: primary->backup.replication.factor: expected an integer, got "two"`)
    }))

  it.effect("fails with ConfigError for a missing file", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Mm2.load(join(dir, "nope.properties")))
      expect(error._tag).toBe("ConfigError")
    }))

  it.effect("provides the settings as a service", () =>
    Effect.gen(function*() {
      const file = write("layer.properties", ENABLED)
      const fromFile = yield* Effect.provide(Mm2.Mm2Config, Mm2.Mm2Config.layerFromFile(file))
      expect(fromFile.clusters).toEqual(["primary", "backup"])
      const fromValue = yield* Effect.provide(Mm2.Mm2Config, Mm2.Mm2Config.layer(fromFile))
      expect(fromValue).toBe(fromFile)
    }))
})

describe("use.defaults.from", () => {
  it("applies at top level to every flow (Java MM2 ignores it there), with a warning saying so; a flow's own value wins", () => {
    expect(flow("use.defaults.from = source\n").useDefaultsFrom).toBe("source")
    expect(flow("use.defaults.from = source\nprimary->backup.use.defaults.from = target\n").useDefaultsFrom).toBe("target")
    expect(flow("").useDefaultsFrom).toBe("target")
    expect(settingsOf(`${ENABLED}use.defaults.from = source\n`).warnings).toEqual([
      expect.stringContaining("use.defaults.from: Java MM2 ignores this at top level and reads it only per flow (primary->backup.use.defaults.from); effect-mm2 applies it to every flow")
    ])
  })
})
