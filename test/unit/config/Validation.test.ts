/**
 * One validation phase: everything that would stop a flow at start is rejected while the file is
 * resolved (so by `--validate` too), named by file and the key as written, all problems at once.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { BASE, flowOf, invalidOf, settingsOf } from "./helpers.js"

const ENABLED = `${BASE}primary->backup.enabled = true\n`
const BOTH = `${ENABLED}backup->primary.enabled = true\n`
const JAAS = (password: string) =>
  `org.apache.kafka.common.security.scram.ScramLoginModule required username="mm2" password="${password}";`

const dir = mkdtempSync(join(tmpdir(), "effect-mm2-validation-"))
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}
const CA = file(
  "ca.pem",
  "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ0FGRUJBQkU=\n-----END CERTIFICATE-----\n"
)
// what a JKS store starts with (magic 0xFEEDFEED): binary, no PEM armour
const JKS = file("truststore.jks", Buffer.from([0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0, 0, 0, 1]))

/** The issues of a file that must not resolve, as `key: message` lines (file name checked once). */
const issuesOf = (text: string): Array<string> => {
  const e = invalidOf(text)
  expect(e.file).toBe("mm2.properties")
  for (const line of e.message.split("\n")) expect(line.startsWith("mm2.properties: ")).toBe(true)
  return e.issues.map((i) => `${i.key}: ${i.message}`)
}

const onlyIssue = (text: string): string => {
  const issues = issuesOf(text)
  expect(issues, issues.join("\n")).toHaveLength(1)
  return issues[0]!
}

describe("client settings are validated with the file", () => {
  it("rejects a JKS truststore by type, and says how to convert it", () => {
    const issue = onlyIssue(`${ENABLED}primary.security.protocol = SSL
primary.ssl.truststore.type = JKS
primary.ssl.truststore.location = ${CA}
`)
    expect(issue).toMatch(/^primary\.ssl\.truststore\.type: JKS stores are not supported, only PEM; convert it to PEM \(keytool/)
    expect(issue).toContain("openssl pkcs12")
  })

  it("rejects a truststore file that is not PEM (Java's default type is JKS)", () => {
    const issue = onlyIssue(`${ENABLED}primary.security.protocol = SSL\nprimary.ssl.truststore.location = ${JKS}\n`)
    expect(issue).toContain(`primary.ssl.truststore.location: ${JKS} is not a PEM file`)
  })

  it("rejects a missing PEM file, naming it", () => {
    const issue = onlyIssue(`${ENABLED}backup.security.protocol = SSL\nbackup.ssl.truststore.location = ${dir}/missing.pem\n`)
    expect(issue).toBe(`backup.ssl.truststore.location: cannot read ${dir}/missing.pem: no such file`)
  })

  it("accepts a PEM truststore file", () => {
    const f = flowOf(settingsOf(`${ENABLED}primary.security.protocol = SSL\nprimary.ssl.truststore.location = ${CA}\n`), "primary->backup")
    expect(f.clients.sourceConsumer.tls?.ca?.[0]).toContain("BEGIN CERTIFICATE")
    expect(f.clients.targetProducer.tls).toBeUndefined()
  })

  it("requires sasl.jaas.config with SASL", () => {
    const issue = onlyIssue(`${ENABLED}primary.security.protocol = SASL_PLAINTEXT\nprimary.sasl.mechanism = PLAIN\n`)
    expect(issue).toMatch(/^primary\.sasl\.jaas\.config: is required for SASL PLAIN/)
  })

  it("rejects a malformed JAAS line by its key, without repeating the password", () => {
    const issues = issuesOf(`${ENABLED}security.protocol = SASL_PLAINTEXT
sasl.mechanism = SCRAM-SHA-512
sasl.jaas.config = org.apache.kafka.common.security.scram.ScramLoginModule required username="mm2" password="s3cret"
`)
    expect(issues).toEqual([
      "sasl.jaas.config: malformed JAAS configuration: the entry for org.apache.kafka.common.security.scram.ScramLoginModule does not end with ';'"
    ])
    const other = onlyIssue(`${ENABLED}security.protocol = SASL_PLAINTEXT\nsasl.mechanism = PLAIN\nsasl.jaas.config = PlainLoginModule mandatory user=s3cret;\n`)
    expect(other).toContain("expected a control flag")
    expect(other).not.toContain("s3cret")
  })

  it("reads a well-formed JAAS line", () => {
    const f = flowOf(
      settingsOf(`${ENABLED}security.protocol = sasl_plaintext\nsasl.mechanism = SCRAM-SHA-512\nsasl.jaas.config = ${JAAS(String.raw`p w\\\"d`)}\n`),
      "primary->backup"
    )
    expect(f.clients.sourceAdmin.sasl).toEqual({ mechanism: "scram-sha-512", username: "mm2", password: "p w\"d" })
  })

  it("rejects an unknown security.protocol where it was written (top level)", () => {
    const issue = onlyIssue(`${BOTH}security.protocol = SASL_PLAIN\n`)
    expect(issue).toBe('security.protocol: expected one of plaintext, ssl, sasl_plaintext, sasl_ssl, got "SASL_PLAIN"')
  })

  it("rejects GSSAPI", () => {
    const issue = onlyIssue(`${ENABLED}primary.security.protocol = SASL_PLAINTEXT
primary.sasl.mechanism = GSSAPI
primary.sasl.jaas.config = ${JAAS("p")}
`)
    expect(issue).toMatch(/^primary\.sasl\.mechanism: GSSAPI is not supported/)
  })

  it("rejects producer values the client cannot use, in the scope they were written", () => {
    expect(onlyIssue(`${ENABLED}backup.producer.compression.type = brotli\n`)).toBe(
      'backup.producer.compression.type: expected one of none, gzip, snappy, lz4, zstd, got "brotli"'
    )
    expect(onlyIssue(`${ENABLED}primary->backup.producer.override.acks = 2\n`)).toBe(
      'primary->backup.producer.override.acks: expected one of all, -1, 0, 1, got "2"'
    )
    expect(onlyIssue(`${ENABLED}backup.producer.acks = 2\n`)).toBe('backup.producer.acks: expected one of all, -1, 0, 1, got "2"')
  })

  it("rejects consumer values the client cannot use", () => {
    expect(onlyIssue(`${ENABLED}primary.consumer.auto.offset.reset = smallest\n`)).toBe(
      'primary.consumer.auto.offset.reset: expected one of earliest, latest, none, got "smallest"'
    )
    const f = flowOf(settingsOf(`${ENABLED}primary.consumer.isolation.level = READ_COMMITTED\n`), "primary->backup")
    expect(f.clients.sourceConsumerSettings).toEqual({ autoOffsetReset: "earliest", readCommitted: true })
  })

  it("rejects bootstrap servers without a port or with one out of range", () => {
    expect(onlyIssue(`clusters = primary, backup
primary.bootstrap.servers = localhost
backup.bootstrap.servers = backup:9092
primary->backup.enabled = true
`)).toBe('primary.bootstrap.servers: "localhost" is not host:port')
    expect(onlyIssue(`clusters = primary, backup
primary.bootstrap.servers = primary:9092
backup.bootstrap.servers = a:9092, localhost:99999
primary->backup.enabled = true
`)).toBe('backup.bootstrap.servers: port 99999 of "localhost:99999" is out of range (1-65535)')
    const ok = flowOf(settingsOf(`clusters = primary, backup
primary.bootstrap.servers = [::1]:9092 , 127.0.0.1:9093
backup.bootstrap.servers = backup:9092
primary->backup.enabled = true
`), "primary->backup")
    expect(ok.clients.sourceConsumer.brokers).toEqual(["[::1]:9092", "127.0.0.1:9093"])
  })
})

describe("client settings where MM2 ignores them", () => {
  it("warns about top-level producer and consumer settings instead of failing", () => {
    const warnings = settingsOf(`${ENABLED}acks = 2\ncompression.type = brotli\nauto.offset.reset = latest\n`).warnings
    expect(warnings).toEqual([
      "mm2.properties: acks: producer setting, ignored at top level by MM2; use primary.producer.acks (one cluster) or primary->backup.producer.override.acks",
      "mm2.properties: compression.type: producer setting, ignored at top level by MM2; use primary.producer.compression.type (one cluster) or primary->backup.producer.override.compression.type",
      "mm2.properties: auto.offset.reset: consumer setting, ignored at top level by MM2; use primary.consumer.auto.offset.reset (one cluster) or primary->backup.source.consumer.auto.offset.reset"
    ])
  })
})

describe("filters are validated as the Java regexes they are", () => {
  it("names the global key once, not each flow's", () => {
    const issue = onlyIssue(`${BOTH}topics = [a-c[x-z]]\n`)
    expect(issue).toMatch(/^topics: invalid regular expression "\[a-c\[x-z\]\]": nested character classes/)
  })

  it("reports every bad pattern of every key at once", () => {
    const issues = issuesOf(`${ENABLED}topics = a++, ok.*, [a-c[x-z]]
primary->backup.topics.exclude = [a-z&&[^q]]
groups = \\\\p{javaLowerCase}
`)
    expect(issues).toHaveLength(3)
    expect(issues[0]).toMatch(/^topics: invalid regular expression "a\+\+": possessive .*; invalid regular expression "\[a-c\[x-z\]\]"/)
    expect(issues[1]).toMatch(/^primary->backup\.topics\.exclude: invalid regular expression "\[a-z&&\[\^q\]\]"/)
    expect(issues[2]).toMatch(/^groups: invalid regular expression/)
  })
})

describe("all problems of a file at once", () => {
  it("collects problems of different kinds and scopes into one error", () => {
    const issues = issuesOf(`clusters = primary, backup
primary.bootstrap.servers = localhost
backup.bootstrap.servers = backup:9092
primary->backup.enabled = true
primary->backup.replication.factor = two
topics = [a-c[x-z]]
backup.producer.acks = 2
backup.security.protocol = SASL_SSL
backup.sasl.mechanism = GSSAPI
`)
    expect(issues.map((i) => i.split(":")[0]).sort()).toEqual([
      "backup.producer.acks",
      "backup.sasl.jaas.config",
      "backup.sasl.mechanism",
      "primary->backup.replication.factor",
      "primary.bootstrap.servers",
      "topics"
    ])
  })
})

describe("secret values are never echoed in errors", () => {
  const PASSWORD = "correct-horse-battery-staple"
  const jaasIssue = (jaas: string): string => {
    const issue = onlyIssue(`${ENABLED}security.protocol = SASL_PLAINTEXT\nsasl.mechanism = PLAIN\nsasl.jaas.config = ${jaas}\n`)
    expect(issue).toMatch(/^sasl\.jaas\.config: malformed JAAS configuration: /)
    return issue
  }
  const MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"mm2\""

  it("an unquoted ';' in the password does not show what follows it as a module name", () => {
    const issue = jaasIssue(`${MODULE} password=abc;${PASSWORD};`)
    expect(issue).toContain("expected a control flag (required, requisite, sufficient, optional) after the login module")
    expect(issue).not.toContain(PASSWORD)
  })

  it("a blank in an unquoted password does not show the rest as an option name", () => {
    const issue = jaasIssue(`${MODULE} password=abc ${PASSWORD};`)
    expect(issue).toBe("sasl.jaas.config: malformed JAAS configuration: option #3 (name not shown) has no '=value'")
  })

  it("a bare password instead of a JAAS line is not shown", () => {
    const issue = jaasIssue(PASSWORD)
    expect(issue).toContain("expected a control flag")
    expect(issue).not.toContain(PASSWORD)
  })

  it("well-known module and option names are still named", () => {
    expect(jaasIssue(`${MODULE} password`)).toBe("sasl.jaas.config: malformed JAAS configuration: option password has no '=value'")
    expect(jaasIssue("org.apache.kafka.common.security.plain.PlainLoginModule required password=x"))
      .toBe("sasl.jaas.config: malformed JAAS configuration: the entry for org.apache.kafka.common.security.plain.PlainLoginModule does not end with ';'")
  })

  it("no message of a file with several bad secret lines contains any of them", () => {
    const message = invalidOf(`${ENABLED}primary.security.protocol = SASL_SSL
primary.sasl.mechanism = SCRAM-SHA-256
primary.sasl.jaas.config = ${PASSWORD}
backup.security.protocol = SASL_SSL
backup.sasl.mechanism = SCRAM-SHA-256
backup.sasl.jaas.config = ${MODULE} password=${PASSWORD}
primary.ssl.key.password = ${PASSWORD}
backup.producer.acks = ${PASSWORD}
`).message
    expect(message).toContain("backup.producer.acks") // a non-secret key still shows what it got
    expect(message.split("\n").filter((l) => l.includes(PASSWORD)).map((l) => l.split(":")[1]?.trim())).toEqual([
      "backup.producer.acks"
    ])
  })
})
