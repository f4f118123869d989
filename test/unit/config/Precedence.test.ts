import { describe, expect, it } from "@effect/vitest"
import { clusterProps } from "../../../src/config/ClusterProps.js"
import { connectorConfig, workerConfig } from "../../../src/config/ConnectorConfig.js"
import * as Properties from "../../../src/config/Properties.js"
import { BASE, flowOf, settingsOf } from "./helpers.js"

const ENABLED = `${BASE}primary->backup.enabled = true\n`
const flow = (extra: string) => flowOf(settingsOf(`${ENABLED}${extra}`), "primary->backup")

describe("connector keys: flow > global > default, cluster scope ignored", () => {
  it("uses the default", () => {
    expect(flow("").replicationFactor).toBe(2)
  })

  it("ignores the cluster scope", () => {
    const f = flow("primary.replication.factor = 5\nbackup.replication.factor = 6\nbackup.topics = x\n")
    expect(f.replicationFactor).toBe(2)
    expect(f.topics).toEqual([".*"])
  })

  it("lets global beat the default and flow beat global", () => {
    expect(flow("replication.factor = 3\n").replicationFactor).toBe(3)
    expect(flow("replication.factor = 3\nprimary->backup.replication.factor = 1\n").replicationFactor).toBe(1)
  })

  it("applies a flow key only to its own flow", () => {
    const s = settingsOf(`${ENABLED}backup->primary.enabled = true\nprimary->backup.topics = orders\n`)
    expect(flowOf(s, "primary->backup").topics).toEqual(["orders"])
    expect(flowOf(s, "backup->primary").topics).toEqual([".*"])
  })

  it("copies replication.policy.* from the top level", () => {
    const f = flow("replication.policy.separator = _\nreplication.policy.class = IdentityReplicationPolicy\n")
    expect(f.replicationPolicySeparator).toBe("_")
    expect(f.replicationPolicyClass).toBe("org.apache.kafka.connect.mirror.IdentityReplicationPolicy")
  })
})

describe("clusterProps (spec 1.4)", () => {
  const raw = Properties.parse(`
clusters = a, b
security.protocol = SSL
ssl.truststore.location = /global.jks
a.bootstrap.servers = a:9092
a.security.protocol = SASL_SSL
a.admin.security.protocol = SSL
a.producer.acks = all
`)

  it("strips the prefix and fans security keys out to every client", () => {
    const props = clusterProps(raw, "a")
    expect(props.get("bootstrap.servers")).toBe("a:9092")
    expect(props.get("producer.bootstrap.servers")).toBe("a:9092")
    expect(props.get("consumer.security.protocol")).toBe("SASL_SSL")
    expect(props.get("admin.security.protocol")).toBe("SSL")
    expect(props.get("producer.acks")).toBe("all")
  })

  it("fills gaps from top-level security keys, bare key included", () => {
    const props = clusterProps(raw, "a")
    expect(props.get("ssl.truststore.location")).toBe("/global.jks")
    expect(props.get("consumer.ssl.truststore.location")).toBe("/global.jks")
    expect(props.get("security.protocol")).toBe("SASL_SSL")
    expect(clusterProps(raw, "b").get("security.protocol")).toBe("SSL")
  })

  it("feeds connector and worker configs", () => {
    const conn = connectorConfig(raw, "a", "b")
    expect(conn.get("source.cluster.bootstrap.servers")).toBe("a:9092")
    expect(conn.get("source.producer.acks")).toBe("all")
    expect(conn.get("target.cluster.security.protocol")).toBe("SSL")
    expect(conn.get("source.cluster.alias")).toBe("a")
    expect(conn.get("enabled")).toBe("false")
    const worker = workerConfig(raw, "a", "b")
    expect(worker.get("group.id")).toBe("a-mm2")
    expect(worker.get("offset.storage.topic")).toBe("mm2-offsets.a.internal")
    expect(worker.get("client.id")).toBe("a->b")
  })
})

describe("client settings (spec 1.7)", () => {
  it("lets <s>.consumer.x beat s->t.consumer.x, and s->t.source.consumer.x beat both", () => {
    expect(flow("primary->backup.consumer.max.poll.records = 1\n").sourceConsumer.get("max.poll.records")).toBe("1")
    const both = "primary->backup.consumer.max.poll.records = 1\nprimary.consumer.max.poll.records = 2\n"
    expect(flow(both).sourceConsumer.get("max.poll.records")).toBe("2")
    const all = `${both}primary->backup.source.consumer.max.poll.records = 3\n`
    expect(flow(all).sourceConsumer.get("max.poll.records")).toBe("3")
  })

  it("sends <t>.producer.* and s->t.producer.override.* to the target producer", () => {
    const f = flow(
      "backup.producer.compression.type = zstd\nbackup.producer.acks = 1\nprimary->backup.producer.override.acks = all\n"
    )
    expect(f.targetProducer.get("compression.type")).toBe("zstd")
    expect(f.targetProducer.get("acks")).toBe("all")
    expect(f.targetProducer.get("bootstrap.servers")).toBe("backup:9092")
    expect(f.sourceProducer.has("override.acks")).toBe(false)
  })

  it("uses the top-level security.protocol only as the lowest default", () => {
    const f = flow(
      "security.protocol = SASL_SSL\nsasl.mechanism = PLAIN\nprimary.security.protocol = SSL\nbackup.admin.security.protocol = PLAINTEXT\n" +
        "sasl.jaas.config = org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"p\";\n"
    )
    expect(f.sourceConsumer.get("security.protocol")).toBe("SSL")
    expect(f.sourceAdmin.get("security.protocol")).toBe("SSL")
    expect(f.targetProducer.get("security.protocol")).toBe("SASL_SSL")
    expect(f.targetConsumer.get("security.protocol")).toBe("SASL_SSL")
    expect(f.targetAdmin.get("security.protocol")).toBe("PLAINTEXT")
    expect(f.targetAdmin.get("sasl.mechanism")).toBe("PLAIN")
  })

  it("builds flat maps of Kafka client keys for every client", () => {
    const f = flow(`security.protocol = SASL_SSL
sasl.mechanism = PLAIN
sasl.jaas.config = org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";
backup.producer.acks = all
backup.producer.compression.type = zstd
`)
    expect(Object.fromEntries(f.targetProducer)).toEqual({
      "bootstrap.servers": "backup:9092",
      "security.protocol": "SASL_SSL",
      "sasl.mechanism": "PLAIN",
      "sasl.jaas.config": "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"p\";",
      "acks": "all",
      "compression.type": "zstd"
    })
    expect(Object.fromEntries(f.sourceAdmin)).toEqual({
      "bootstrap.servers": "primary:9092",
      "security.protocol": "SASL_SSL",
      "sasl.mechanism": "PLAIN",
      "sasl.jaas.config": "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"p\";"
    })
  })

  it("forces consumer settings MM2 forces", () => {
    const f = flow("primary.consumer.enable.auto.commit = true\nbackup.consumer.auto.offset.reset = latest\n")
    expect(f.sourceConsumer.get("enable.auto.commit")).toBe("false")
    expect(f.sourceConsumer.get("auto.offset.reset")).toBe("earliest")
    expect(f.targetConsumer.get("auto.offset.reset")).toBe("latest")
  })

  it("keeps connector settings that look client-scoped out of client maps", () => {
    const f = flow("consumer.poll.timeout.ms = 500\nadmin.timeout.ms = 30000\n")
    expect(f.consumerPollTimeoutMs).toBe(500)
    expect(f.adminTimeoutMs).toBe(30000)
    expect(f.sourceConsumer.has("poll.timeout.ms")).toBe(false)
    expect(f.sourceAdmin.has("timeout.ms")).toBe(false)
  })

  it("ignores top-level client keys, like MM2", () => {
    const f = flow("producer.acks = 0\nconsumer.max.poll.records = 5\n")
    expect(f.targetProducer.has("acks")).toBe(false)
    expect(f.sourceConsumer.has("max.poll.records")).toBe(false)
  })
})

describe("offset.flush.interval.ms", () => {
  it("defaults to 5000 and is read per target cluster only", () => {
    expect(flow("").offsetFlushIntervalMs).toBe(5000)
    expect(flow("offset.flush.interval.ms = 100\nprimary.offset.flush.interval.ms = 200\n").offsetFlushIntervalMs).toBe(5000)
    expect(flow("backup.offset.flush.interval.ms = 250\n").offsetFlushIntervalMs).toBe(250)
  })
})

describe("raw connector map", () => {
  it("keeps unknown flow keys and the MM2 derivation", () => {
    const f = flow("primary->backup.some.custom.key = v\ntopics = a, b\n")
    expect(f.raw.get("some.custom.key")).toBe("v")
    expect(f.raw.get("topics")).toBe("a, b")
    expect(f.raw.get("enabled")).toBe("true")
    expect(f.raw.get("target.cluster.bootstrap.servers")).toBe("backup:9092")
  })
})
