/**
 * Config providers: `${provider:[path:]key}` in mm2.properties values, resolved at load with the
 * top-level `config.providers` declarations (Kafka's File, Directory and EnvVar providers), and
 * secrets that never show in `--validate` or in an error.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as ConfigProviders from "../../../src/config/ConfigProviders.js"
import { hideSecretValues } from "../../../src/config/Describe.js"
import * as Mm2 from "../../../src/config/Mm2Config.js"
import { BASE, flowOf, invalidOf, settingsOf } from "./helpers.js"

const ENABLED = `${BASE}primary->backup.enabled = true\n`

const FILE_CLASS = "org.apache.kafka.common.config.provider.FileConfigProvider"
const DIR_CLASS = "org.apache.kafka.common.config.provider.DirectoryConfigProvider"
const ENV_CLASS = "org.apache.kafka.common.config.provider.EnvVarConfigProvider"

/** The usual declarations: `file`, `dir` and `env`. */
const PROVIDERS = `config.providers = file, dir, env
config.providers.file.class = ${FILE_CLASS}
config.providers.dir.class = ${DIR_CLASS}
config.providers.env.class = ${ENV_CLASS}
`

const SECRET = "Pa55-from-the-secrets-file"
const DIR_SECRET = "key-passphrase-from-a-directory"

const dir = mkdtempSync(join(tmpdir(), "effect-mm2-providers-"))
const write = (name: string, content: string): string => {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}
const SECRETS = write("secrets.properties", `user = mm2\npassword = ${SECRET}\nbootstrap = primary-from-file:9092\n`)
const SECRET_DIR = join(dir, "secrets.d")
mkdirSync(SECRET_DIR)
writeFileSync(join(SECRET_DIR, "key-password"), DIR_SECRET)
writeFileSync(join(SECRET_DIR, "with-newline"), "v\n")
writeFileSync(join(SECRET_DIR, "compression"), "zstd")
mkdirSync(join(SECRET_DIR, "subdir"))

const JAAS = `org.apache.kafka.common.security.scram.ScramLoginModule required username="\${file:${SECRETS}:user}" password="\${file:${SECRETS}:password}";`
const SASL = `security.protocol = SASL_PLAINTEXT\nsasl.mechanism = SCRAM-SHA-512\nsasl.jaas.config = ${JAAS}\n`

// Environment variables set by a test, removed after it.
const setEnv: Array<string> = []
const env = (name: string, value: string): void => {
  process.env[name] = value
  setEnv.push(name)
}
afterEach(() => {
  for (const name of setEnv.splice(0)) delete process.env[name]
})

const issuesOf = (text: string): Array<string> => invalidOf(text).issues.map((i) => `${i.key}: ${i.message}`)

describe("references", () => {
  it("are found with Kafka's pattern: provider, optional path up to the next ':', key", () => {
    expect(ConfigProviders.referencesIn("a ${file:/etc/x.properties:k:with:colons} b ${env:HOME}")).toEqual([
      { text: "${file:/etc/x.properties:k:with:colons}", provider: "file", path: "/etc/x.properties", key: "k:with:colons" },
      { text: "${env:HOME}", provider: "env", path: "", key: "HOME" }
    ])
    expect(ConfigProviders.referencesIn("${nocolon} $x ${}")).toEqual([])
  })

  it("several in one value, also a reference without path followed by another", () => {
    expect(ConfigProviders.referencesIn("${env:HOST}:${env:PORT}").map((r) => r.text)).toEqual(["${env:HOST}", "${env:PORT}"])
  })
})

describe("FileConfigProvider", () => {
  it("resolves keys of a properties file, several in one value", () => {
    const f = flowOf(settingsOf(`${ENABLED}${PROVIDERS}${SASL}`), "primary->backup")
    expect(f.clients.sourceConsumer.sasl).toEqual({ mechanism: "scram-sha-512", username: "mm2", password: SECRET })
    expect(f.clients.targetProducer.sasl?.password).toBe(SECRET)
  })

  it("resolves cluster, flow and client scoped values alike", () => {
    env("MM2_TEST_TOPICS", "orders, payments")
    const settings = settingsOf(`clusters = primary, backup
${PROVIDERS}primary.bootstrap.servers = \${file:${SECRETS}:bootstrap}
backup.bootstrap.servers = backup:9092
primary->backup.enabled = true
primary->backup.topics = \${env:MM2_TEST_TOPICS}
backup.producer.compression.type = \${dir:${SECRET_DIR}:compression}
`)
    const f = flowOf(settings, "primary->backup")
    expect(f.clients.sourceAdmin.brokers).toEqual(["primary-from-file:9092"])
    expect(f.topics).toEqual(["orders", "payments"])
    expect(f.clients.targetProducerSettings.compression).toBe("zstd")
  })

  it("keeps the connector and worker configs as written, like the configs MM2 stores", () => {
    const f = flowOf(settingsOf(`${ENABLED}${PROVIDERS}${SASL}`), "primary->backup")
    expect(f.raw.get("source.cluster.sasl.jaas.config")).toBe(JAAS)
    expect(f.worker.get("sasl.jaas.config")).toBe(JAAS)
    expect(f.raw.get("config.providers")).toBe("file, dir, env")
  })

  it("fails on a missing file, a missing key and a reference without path, naming key and reference", () => {
    const issues = issuesOf(`${ENABLED}${PROVIDERS}
primary.ssl.key.password = \${file:${dir}/nope.properties:password}
backup.ssl.key.password = \${file:${SECRETS}:nokey}
primary->backup.topics = \${file:password}
`)
    expect(issues).toEqual([
      `primary.ssl.key.password: cannot resolve \${file:${dir}/nope.properties:password}: cannot read ${dir}/nope.properties: no such file or directory`,
      `backup.ssl.key.password: cannot resolve \${file:${SECRETS}:nokey}: ${SECRETS} has no key "nokey"`,
      "primary->backup.topics: cannot resolve ${file:password}: the reference has no path; write ${file:/path/to/file.properties:<key>}"
    ])
  })

  it("reads only under allowed.paths when set", () => {
    const other = mkdtempSync(join(tmpdir(), "effect-mm2-providers-other-"))
    const outside = join(other, "x.properties")
    writeFileSync(outside, "a = b\n")
    const text = `${ENABLED}${PROVIDERS}config.providers.file.param.allowed.paths = ${dir}
primary->backup.topics = \${file:${SECRETS}:user}
primary->backup.groups = \${file:${outside}:a}
primary->backup.groups.exclude = \${file:${dir}/../${other.split("/").pop()}/x.properties:a}
`
    const issues = issuesOf(text)
    expect(issues).toHaveLength(2)
    expect(issues[0]).toBe(
      `primary->backup.groups: cannot resolve \${file:${outside}:a}: ${outside} is not under config.providers.file.param.allowed.paths (${dir})`
    )
    expect(issues[1]).toMatch(/^primary->backup\.groups\.exclude: cannot resolve .* is not under config\.providers\.file\.param\.allowed\.paths/)
    expect(issuesOf(`${ENABLED}${PROVIDERS}config.providers.file.param.allowed.paths = relative/dir\n`)).toEqual([
      "config.providers.file.param.allowed.paths: path relative/dir is not absolute"
    ])
  })
})

describe("DirectoryConfigProvider", () => {
  it("gives the whole content of a file in the directory, nothing trimmed", () => {
    const f = flowOf(
      settingsOf(`${ENABLED}${PROVIDERS}primary->backup.topics = \${dir:${SECRET_DIR}:with-newline}\n`),
      "primary->backup"
    )
    expect(f.topics).toEqual(["v"]) // a LIST value is trimmed by its type, not by the provider
    expect(settingsOf(`${ENABLED}${PROVIDERS}primary.ssl.key.password = \${dir:${SECRET_DIR}:key-password}\n`).properties.get(
      "primary.ssl.key.password"
    )).toBe(`\${dir:${SECRET_DIR}:key-password}`)
  })

  it("keeps a trailing newline, as Kafka does", () => {
    const resolution = ConfigProviders.resolve(
      new Map([
        ["config.providers", "dir"],
        ["config.providers.dir.class", DIR_CLASS],
        ["x", `[\${dir:${SECRET_DIR}:with-newline}]`]
      ])
    )
    expect(resolution.issues).toEqual([])
    expect(resolution.values.get("x")).toBe("[v\n]")
    expect(resolution.references.get("x")).toEqual([`\${dir:${SECRET_DIR}:with-newline}`])
  })

  it("fails on a missing directory or file, a subdirectory, and a name with a path", () => {
    const issues = issuesOf(`${ENABLED}${PROVIDERS}
primary.ssl.key.password = \${dir:${dir}/nodir:x}
backup.ssl.key.password = \${dir:${SECRET_DIR}:missing}
primary->backup.topics = \${dir:${SECRET_DIR}:subdir}
primary->backup.groups = \${dir:${dir}:secrets.d/key-password}
`)
    expect(issues).toEqual([
      `primary.ssl.key.password: cannot resolve \${dir:${dir}/nodir:x}: cannot read directory ${dir}/nodir: no such file or directory`,
      `backup.ssl.key.password: cannot resolve \${dir:${SECRET_DIR}:missing}: cannot read ${SECRET_DIR}/missing: no such file or directory`,
      `primary->backup.topics: cannot resolve \${dir:${SECRET_DIR}:subdir}: ${SECRET_DIR}/subdir is not a regular file`,
      `primary->backup.groups: cannot resolve \${dir:${dir}:secrets.d/key-password}: "secrets.d/key-password" is not a file name`
    ])
  })
})

describe("EnvVarConfigProvider", () => {
  it("resolves variables, several in one value", () => {
    env("MM2_TEST_HOST", "primary-from-env")
    env("MM2_TEST_PORT", "9093")
    const f = flowOf(
      settingsOf(`${ENABLED}${PROVIDERS}primary.bootstrap.servers = \${env:MM2_TEST_HOST}:\${env:MM2_TEST_PORT}\n`),
      "primary->backup"
    )
    expect(f.clients.sourceConsumer.brokers).toEqual(["primary-from-env:9093"])
  })

  it("takes the environment from the options too", () => {
    const resolved = Mm2.resolve(
      new Map([...settingsOf(ENABLED).properties, ["config.providers", "env"], ["config.providers.env.class", ENV_CLASS], [
        "primary.bootstrap.servers",
        "${env:BOOT}"
      ]]),
      { file: "mm2.properties", env: { BOOT: "given:9092" } }
    )
    expect(resolved._tag).toBe("Right")
    if (resolved._tag === "Right") {
      expect(flowOf(resolved.right, "primary->backup").clients.sourceAdmin.brokers).toEqual(["given:9092"])
    }
  })

  it("fails on an unset variable, one outside allowlist.pattern, and a path; reports each key once", () => {
    env("MM2_TEST_OTHER", "x")
    const issues = issuesOf(`${ENABLED}${PROVIDERS}config.providers.env.param.allowlist.pattern = MM2_TEST_ALLOWED_.*
primary.bootstrap.servers = \${env:MM2_TEST_ALLOWED_UNSET}
backup.bootstrap.servers = \${env:MM2_TEST_OTHER}
primary->backup.topics = \${env:/etc:MM2_TEST_ALLOWED_X}
`)
    // no "is not host:port" about the values left as written
    expect(issues).toEqual([
      "primary.bootstrap.servers: cannot resolve ${env:MM2_TEST_ALLOWED_UNSET}: environment variable MM2_TEST_ALLOWED_UNSET is not set",
      "backup.bootstrap.servers: cannot resolve ${env:MM2_TEST_OTHER}: environment variable MM2_TEST_OTHER does not match config.providers.env.param.allowlist.pattern",
      "primary->backup.topics: cannot resolve ${env:/etc:MM2_TEST_ALLOWED_X}: EnvVarConfigProvider takes no path; write ${env:<VARIABLE>}"
    ])
  })

  it("matches allowlist.pattern against the whole name, as a Java regex", () => {
    env("MM2_TEST_ALLOWED_HOST", "h:9092")
    const ok = `${ENABLED}${PROVIDERS}config.providers.env.param.allowlist.pattern = MM2_TEST_ALLOWED_.*\nprimary.bootstrap.servers = \${env:MM2_TEST_ALLOWED_HOST}\n`
    expect(flowOf(settingsOf(ok), "primary->backup").clients.sourceAdmin.brokers).toEqual(["h:9092"])
    const partial = ok.replace("MM2_TEST_ALLOWED_.*", "MM2_TEST")
    expect(issuesOf(partial)[0]).toContain("does not match config.providers.env.param.allowlist.pattern")
    expect(issuesOf(`${ENABLED}${PROVIDERS}config.providers.env.param.allowlist.pattern = a++\n`)[0]).toMatch(
      /^config\.providers\.env\.param\.allowlist\.pattern: invalid regular expression "a\+\+": possessive/
    )
  })

  it("names the reference when a resolved value fails a check", () => {
    env("MM2_TEST_ACKS", "2")
    expect(issuesOf(`${ENABLED}${PROVIDERS}backup.producer.acks = \${env:MM2_TEST_ACKS}\n`)).toEqual([
      'backup.producer.acks: expected one of all, -1, 0, 1, got "2" (value from ${env:MM2_TEST_ACKS})'
    ])
  })
})

describe("declarations", () => {
  it("rejects a reference to a provider config.providers does not list", () => {
    expect(issuesOf(`${ENABLED}primary.ssl.key.password = \${vault:secret/mm2:password}\n`)).toEqual([
      'primary.ssl.key.password: cannot resolve ${vault:secret/mm2:password}: no config provider "vault" in config.providers (not set)'
    ])
    expect(issuesOf(`${ENABLED}${PROVIDERS}primary.ssl.key.password = \${vault:secret/mm2:password}\n`)).toEqual([
      'primary.ssl.key.password: cannot resolve ${vault:secret/mm2:password}: no config provider "vault" in config.providers (file, dir, env)'
    ])
  })

  it("rejects a provider class it does not implement, by its key; its references are not reported again", () => {
    const issues = issuesOf(`${ENABLED}config.providers = vault
config.providers.vault.class = io.example.VaultConfigProvider
primary.ssl.key.password = \${vault:secret/mm2:password}
`)
    expect(issues).toEqual([
      `config.providers.vault.class: unsupported config provider class "io.example.VaultConfigProvider"; effect-mm2 only provides ${FILE_CLASS}, ${DIR_CLASS}, ${ENV_CLASS}`
    ])
  })

  it("rejects a listed provider without class", () => {
    expect(issuesOf(`${ENABLED}config.providers = file\n`)).toEqual([
      `config.providers.file.class: missing; config.providers lists file, set this to one of ${FILE_CLASS}, ${DIR_CLASS}, ${ENV_CLASS}`
    ])
  })

  it("accepts any provider name and a class with surrounding blanks", () => {
    env("MM2_TEST_BOOT", "b:9092")
    const settings = settingsOf(
      `${ENABLED}config.providers = environment\nconfig.providers.environment.class = ${ENV_CLASS}  \nbackup.bootstrap.servers = \${environment:MM2_TEST_BOOT}\n`
    )
    expect(flowOf(settings, "primary->backup").clients.targetAdmin.brokers).toEqual(["b:9092"])
    expect(settings.warnings).toEqual([])
  })

  it("warns about declarations Kafka ignores, and no longer about config.providers itself", () => {
    const warnings = settingsOf(`${ENABLED}${PROVIDERS}config.providers.file.param.allowed.path = /tmp
config.providers.vault.class = io.example.VaultConfigProvider
config.providers.env.clas = ${ENV_CLASS}
primary.config.providers = file
`).warnings
    expect(warnings).toEqual([
      "mm2.properties: config.providers.file.param.allowed.path: unknown parameter of FileConfigProvider, which reads only allowed.paths; ignored",
      "mm2.properties: config.providers.vault.class: not a provider listed in config.providers (file, dir, env); ignored",
      "mm2.properties: config.providers.env.clas: unknown key; a provider is declared by config.providers.<name>.class and config.providers.<name>.param.*; ignored",
      "mm2.properties: primary.config.providers: effect-mm2 resolves ${provider:path:key} references with the top-level config.providers declarations only; ignored"
    ])
  })
})

describe("secrets from providers never show", () => {
  it("describe() shows [hidden], not the resolved secret", () => {
    const out = Mm2.describe(settingsOf(`${ENABLED}${PROVIDERS}${SASL}primary.ssl.key.password = \${dir:${SECRET_DIR}:key-password}\n`))
    expect(out).toContain("source.consumer.sasl.jaas.config = [hidden]")
    expect(out).not.toContain(SECRET)
    expect(out).not.toContain(DIR_SECRET)
  })

  it("no error text contains a resolved secret, nor pieces of a malformed JAAS line", () => {
    const jaas = write(
      "bad-jaas.properties",
      // an unquoted password with ';' and a blank: pieces of it land where names are expected
      `jaas = org.apache.kafka.common.security.plain.PlainLoginModule required username=mm2 password=${SECRET};tail-${SECRET}\n` +
        `jaas2 = org.apache.kafka.common.security.plain.PlainLoginModule required username=mm2 password=x ${SECRET};\n`
    )
    const text = `${ENABLED}${PROVIDERS}
primary.security.protocol = SASL_PLAINTEXT
primary.sasl.mechanism = PLAIN
primary.sasl.jaas.config = \${file:${jaas}:jaas}
backup.security.protocol = SASL_PLAINTEXT
backup.sasl.mechanism = PLAIN
backup.sasl.jaas.config = \${file:${jaas}:jaas2}
backup.producer.acks = 2
primary.ssl.key.password = \${file:${SECRETS}:password}
`
    const error = invalidOf(text)
    expect(error.message).not.toContain(SECRET)
    expect(error.message).not.toContain("tail-")
    expect(error.issues.map((i) => `${i.key}: ${i.message}`)).toEqual([
      `primary.sasl.jaas.config: malformed JAAS configuration: expected a control flag (required, requisite, sufficient, optional) after the login module (value from \${file:${jaas}:jaas})`,
      `backup.sasl.jaas.config: malformed JAAS configuration: option #3 (name not shown) has no '=value' (value from \${file:${jaas}:jaas2})`,
      'backup.producer.acks: expected one of all, -1, 0, 1, got "2"'
    ])
  })

  it.effect("load resolves references of the file it reads", () =>
    Effect.gen(function*() {
      env("MM2_TEST_LOAD_BOOT", "loaded:9092")
      const file = write("load.properties", `${ENABLED}${PROVIDERS}${SASL}backup.bootstrap.servers = \${env:MM2_TEST_LOAD_BOOT}\n`)
      const settings = yield* Mm2.load(file)
      const flow = flowOf(settings, "primary->backup")
      expect(flow.clients.targetAdmin.brokers).toEqual(["loaded:9092"])
      expect(flow.clients.sourceAdmin.sasl?.password).toBe(SECRET)
      expect(Mm2.describe(settings)).not.toContain(SECRET)
      const missing = write("load-missing.properties", `${ENABLED}${PROVIDERS}primary.ssl.key.password = \${file:${SECRETS}:nokey}\n`)
      const error = yield* Effect.flip(Mm2.load(missing))
      expect(error.message).toBe(`${missing}: primary.ssl.key.password: cannot resolve \${file:${SECRETS}:nokey}: ${SECRETS} has no key "nokey"`)
    }))

  it("hideSecretValues hides a secret key's value in any form a check may quote", () => {
    const v = ` ${SECRET} `
    expect(hideSecretValues("primary.ssl.key.password", `got ${JSON.stringify(v)} and ${SECRET}`, [v])).toBe(
      'got "[hidden]" and [hidden]'
    )
    expect(hideSecretValues("primary.bootstrap.servers", `got "${SECRET}"`, [SECRET])).toBe(`got "${SECRET}"`)
  })
})
