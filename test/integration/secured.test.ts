/**
 * Replication between secured clusters, with effect-mm2 run as users run it (`node dist/main.js`):
 * the source speaks SASL_PLAINTEXT (SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN), the target SASL_SSL
 * with a CA generated for this run; both run the StandardAuthorizer (deny without an ACL). The two
 * brokers are this file's own (support/secured.ts), started once in beforeAll and stopped in
 * afterAll, pass or fail.
 *
 * Also: wrong credentials end the process quickly with one clear reason and no retry storm, and
 * no password (nor an inline private key) is ever printed, even at debug level.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Data, Effect, Either, Exit, Scope } from "effect"
import { type KafkaSaslMechanism, makeKafkaCluster } from "../../harness/index.js"
import { connectionSettings } from "../../src/kafka/ClientSettings.js"
import { KafkaClient } from "../../src/kafka/KafkaClient.js"
import * as KafkaJsClient from "../../src/kafka/KafkaJsClient.js"
import type { TopicAcl } from "../../src/kafka/KafkaClient.js"
import { runJavaTool } from "./support/javaTools.js"
import { eventually, flowProps, uniqueId, writeProps } from "./support/kafka.js"
import { type Mm2Process, spawnMm2 } from "./support/process.js"
import { expectedByPartition, mixedRecords, viewByPartition } from "./support/records.js"
import { clusterClient, secretOccurrences, type SecuredPair, startSecuredPair } from "./support/secured.js"

const PARTITIONS = 3

class Mm2ExitedEarly extends Data.TaggedError("Mm2ExitedEarly")<{
  readonly code: number | null
  readonly waitingFor: string
  readonly message: string
}> {}

/** `effect` while `mm2` runs: an early exit fails at once with its output instead of a timeout later. */
const whileRunning = <A, E>(mm2: Mm2Process, waitingFor: string, effect: Effect.Effect<A, E>) =>
  Effect.raceFirst(
    effect,
    Effect.flatMap(mm2.exit, (s) =>
      new Mm2ExitedEarly({
        code: s.code,
        waitingFor,
        message: `effect-mm2 exited (${s.code ?? s.signal}) while waiting for ${waitingFor}\n${mm2.tail()}`
      }))
  )

/** SIGTERM, then a graceful exit 0. */
const stopGracefully = (mm2: Mm2Process, what: string) =>
  Effect.gen(function*() {
    yield* mm2.kill("SIGTERM")
    const status = yield* mm2.waitExit("60 seconds", what)
    expect(status.code, mm2.tail()).toBe(0)
  })

/** Kafka's own kafka-acls tool as the pair's admin: `--add --allow-principal User:mm2` plus `args`. */
const aclCommand = (p: SecuredPair, side: "source" | "target", args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const config = yield* writeProps(
      Object.fromEntries(Object.entries(p.clientProps("x", side)).map(([k, v]) => [k.slice(2), v]).filter(([k]) => k !== "bootstrap.servers"))
    )
    const major = Number(p.cluster(side).version.split(".")[0])
    yield* runJavaTool(major >= 4 ? "org.apache.kafka.tools.AclCommand" : "kafka.admin.AclCommand", [
      "--bootstrap-server",
      p.cluster(side).bootstrapServers,
      "--command-config",
      config,
      "--add",
      "--allow-principal",
      "User:mm2",
      ...args
    ])
  }).pipe(Effect.scoped)

const output = (mm2: Mm2Process): string => `${mm2.stdout()}\n${mm2.stderr()}`

/** One flow `source -> target` of the secured pair, each alias logging in as given. */
const securedFlow = (
  p: SecuredPair,
  aliases: { readonly source: string; readonly target: string },
  topics: string,
  sourceMechanism: KafkaSaslMechanism = "SCRAM-SHA-512"
) =>
  flowProps({
    ...aliases,
    sourceBootstrap: p.source.bootstrapServers,
    targetBootstrap: p.target.bootstrapServers,
    topics,
    extra: { ...p.clientProps(aliases.source, "source", { mechanism: sourceMechanism }), ...p.clientProps(aliases.target, "target") }
  })

describe("secured clusters: SASL_PLAINTEXT/SCRAM source -> SASL_SSL target, StandardAuthorizer", () => {
  let scope: Scope.CloseableScope | undefined
  let secured: SecuredPair | undefined

  beforeAll(async () => {
    const s = Effect.runSync(Scope.make())
    scope = s
    secured = await Effect.runPromise(
      // Scope.extend leaves the scope open on failure: close it, so a half-started pair is stopped
      startSecuredPair({ users: ["alice", "mm2"] }).pipe(Scope.extend(s), Effect.onError((cause) => Scope.close(s, Exit.failCause(cause))))
    )
  })

  afterAll(async () => {
    if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
  })

  const pair = (): SecuredPair => {
    if (secured === undefined) throw new Error("the secured clusters did not start (see beforeAll)")
    return secured
  }

  it.scopedLive("replicates byte-identical from SCRAM-SHA-512 to SASL_SSL, the source password from a config provider; at debug level no password is printed", () =>
    Effect.gen(function*() {
      const p = pair()
      const id = uniqueId()
      const aliases = { source: `src${id}`, target: `tgt${id}` }
      const topic = `sec${id}`
      const records = mixedRecords(0, 90, PARTITIONS)
      const source = p.client("source")
      const target = p.client("target")
      yield* source.createTopic(topic, PARTITIONS)
      // two thirds as a backlog before the start, the rest while it runs
      const backlog = 60
      yield* source.produce(topic, records.slice(0, backlog))

      // the source's password comes from a file through Kafka's FileConfigProvider, as operators keep it
      const props = securedFlow(p, aliases, topic)
      const secrets = yield* writeProps({ [aliases.source]: p.admin("source").password })
      const jaasKey = `${aliases.source}.sasl.jaas.config`
      props[jaasKey] = props[jaasKey]!.replace(p.admin("source").password, `\${file:${secrets}:${aliases.source}}`)
      expect(props[jaasKey]).toContain("${file:")
      const file = yield* writeProps({
        ...props,
        "config.providers": "file",
        "config.providers.file.class": "org.apache.kafka.common.config.provider.FileConfigProvider"
      })
      const mm2 = yield* spawnMm2(["--config", file, "--log-level", "debug"])
      const remote = `${aliases.source}.${topic}`
      yield* whileRunning(mm2, `${remote} on the target`, target.waitForCount(remote, 1))
      yield* source.produce(topic, records.slice(backlog))
      yield* whileRunning(mm2, `${remote} on the target`, target.waitForCount(remote, records.length))
      const copied = yield* target.readAll(remote, records.length)
      expect(copied.length, `partitions of ${remote}`).toBe(PARTITIONS)
      expect(viewByPartition(copied)).toEqual(expectedByPartition(records, PARTITIONS))
      expect(yield* target.endOffsets(remote)).toEqual(yield* source.endOffsets(topic))
      yield* stopGracefully(mm2, "effect-mm2 after replicating between secured clusters")

      const out = output(mm2)
      // the check below means something only if debug logging was on
      expect(out).toMatch(/^\S+Z DEBUG /m)
      expect(secretOccurrences(out, p.secrets), "secrets in the debug output").toEqual([])
    }), 120_000)

  it.scopedLive("PLAIN and SCRAM-SHA-256 sources replicate too; every mechanism and user authenticates, the authorizer hides topics", () =>
    Effect.gen(function*() {
      const p = pair()
      const id = uniqueId()
      const target = `tg${id}`
      const flows = [
        { alias: `pl${id}`, mechanism: "PLAIN", topic: `plain${id}` },
        { alias: `sc${id}`, mechanism: "SCRAM-SHA-256", topic: `scram${id}` }
      ] as const
      const source = p.client("source")
      const records = mixedRecords(1, 30, PARTITIONS)
      for (const f of flows) {
        yield* source.createTopic(f.topic, PARTITIONS)
        yield* source.produce(f.topic, records)
      }
      // one process, two aliases of the source cluster, one per mechanism
      const file = yield* writeProps({
        ...Object.fromEntries(flows.flatMap((f) => Object.entries(securedFlow(p, { source: f.alias, target }, f.topic, f.mechanism)))),
        "clusters": [...flows.map((f) => f.alias), target].join(", ")
      })
      const mm2 = yield* spawnMm2(["--config", file])
      const targetClient = p.client("target")
      for (const f of flows) {
        const remote = `${f.alias}.${f.topic}`
        yield* whileRunning(mm2, `${remote} on the target`, targetClient.waitForCount(remote, records.length))
        expect(viewByPartition(yield* targetClient.readAll(remote, records.length)), `${remote} (${f.mechanism})`).toEqual(
          expectedByPartition(records, PARTITIONS)
        )
      }
      yield* stopGracefully(mm2, "effect-mm2 with PLAIN and SCRAM-SHA-256 sources")
      expect(secretOccurrences(output(mm2), p.secrets)).toEqual([])

      // every user with every mechanism on both clusters, through our KafkaClient's settings
      const mechanisms: ReadonlyArray<KafkaSaslMechanism> = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
      for (const side of ["source", "target"] as const) {
        for (const mechanism of mechanisms) {
          const asAdmin = yield* p.client(side, { mechanism }).listTopics
          expect(asAdmin.length, `admin on ${side} with ${mechanism} sees topics`).toBeGreaterThan(0)
          // alice has no ACL: she is authenticated, and deny-by-default hides every topic
          expect(yield* p.client(side, { user: "alice", mechanism }).listTopics, `alice on ${side} with ${mechanism}`).toEqual([])
        }
      }
    }), 120_000)

  it.scopedLive("a wrong source password: exit 1 soon, naming the alias and the authentication failure, never retried", () =>
    Effect.gen(function*() {
      const p = pair()
      const id = uniqueId()
      const aliases = { source: `bad${id}`, target: `tgt${id}` }
      const wrong = `wrong-${randomBytes(9).toString("base64url")}`
      const file = yield* writeProps({
        ...securedFlow(p, aliases, `nothing${id}`),
        ...p.clientProps(aliases.source, "source", { user: { name: "admin", password: wrong } }),
        // an unreachable cluster would fail only after this; an authentication failure must not wait for it
        "admin.timeout.ms": "60000"
      })
      const t0 = Date.now()
      const mm2 = yield* spawnMm2(["--config", file])
      const status = yield* mm2.waitExit("45 seconds", "effect-mm2 with a wrong source password")
      const elapsed = Date.now() - t0
      expect(status.code, mm2.tail()).toBe(1)
      // fatal at the broker's first answer, not after admin.timeout.ms of retrying
      expect(elapsed, mm2.tail()).toBeLessThan(30_000)

      const authLine = new RegExp(`cluster '${aliases.source}'.*authentication failed`, "i")
      // the summary on stderr: one line, naming the alias
      const summary = mm2.stderr().split("\n").filter((l) => l.startsWith("effect-mm2: ") && /authentication failed/i.test(l))
      expect(summary, mm2.tail()).toHaveLength(1)
      expect(summary[0], mm2.tail()).toMatch(authLine)
      // the log: one ERROR per task that stopped (each names the alias), nothing retried
      const records = logRecords(mm2)
      const auth = records.filter((r) => /authentication failed/i.test(r.text))
      expect(auth.length, mm2.tail()).toBeGreaterThanOrEqual(1)
      for (const r of auth) {
        expect(r.level, r.text).toBe("ERROR")
        expect(r.text).toMatch(authLine)
      }
      const perTask = auth.map((r) => `${r.herder}/${r.task}`)
      expect(new Set(perTask).size, `one line per task, not a retry storm:\n${mm2.tail()}`).toBe(perTask.length)
      expect(auth.length, `"a few" lines, not a storm:\n${mm2.tail()}`).toBeLessThanOrEqual(8)
      expect(records.filter((r) => r.level === "WARN" && /authenticat/i.test(r.text)), "no retry of an authentication failure").toEqual([])

      expect(secretOccurrences(output(mm2), [...p.secrets, wrong]), "secrets in the output").toEqual([])
    }), 90_000)

  it.scopedLive("a target certificate we do not trust (no truststore): exit 1 soon, naming the alias and the certificate, never retried", () =>
    Effect.gen(function*() {
      const p = pair()
      const id = uniqueId()
      const aliases = { source: `src${id}`, target: `untrusted${id}` }
      const props = securedFlow(p, aliases, `nothing${id}`)
      delete props[`${aliases.target}.ssl.truststore.location`]
      delete props[`${aliases.target}.ssl.truststore.type`]
      const file = yield* writeProps({ ...props, "admin.timeout.ms": "60000" })
      const t0 = Date.now()
      const mm2 = yield* spawnMm2(["--config", file])
      const status = yield* mm2.waitExit("45 seconds", "effect-mm2 with an untrusted target certificate")
      expect(status.code, mm2.tail()).toBe(1)
      expect(Date.now() - t0, mm2.tail()).toBeLessThan(30_000)
      expect(mm2.stderr(), mm2.tail()).toMatch(new RegExp(`cluster '${aliases.target}'.*certificate`, "i"))
      expect(logRecords(mm2).filter((r) => r.level === "WARN" && /certificate/i.test(r.text)), "not retried").toEqual([])
    }), 90_000)

  it.scopedLive("--validate prints the resolved settings without any password or inline private key", () =>
    Effect.gen(function*() {
      const p = pair()
      const id = uniqueId()
      const aliases = { source: `src${id}`, target: `tgt${id}` }
      // an inline client key (PEM in the property value) and its passphrase: secrets as well
      const keyPem = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ format: "pem", type: "pkcs8" }).toString()
      const keyPassword = `kp-${randomBytes(9).toString("base64url")}`
      const caFile = p.target.security?.tls?.caFile
      if (caFile === undefined) return yield* Effect.dieMessage("the SASL_SSL target has no CA file")
      const file = yield* writeProps({
        ...securedFlow(p, aliases, `v${id}`),
        [`${aliases.target}.ssl.keystore.type`]: "PEM",
        [`${aliases.target}.ssl.keystore.key`]: keyPem,
        [`${aliases.target}.ssl.keystore.certificate.chain`]: fs.readFileSync(caFile, "utf8"),
        [`${aliases.target}.ssl.key.password`]: keyPassword
      })
      const mm2 = yield* spawnMm2(["--validate", "--config", file])
      const status = yield* mm2.waitExit("30 seconds", "effect-mm2 --validate")
      expect(status.code, mm2.tail()).toBe(0)
      const out = output(mm2)
      // it did print the settings of the secured clients (hidden where secret)
      expect(out).toContain("sasl.jaas.config")
      expect(out).toContain("[hidden]")
      // the key's base64 lines are long random strings: none may appear
      const keyLines = keyPem.split("\n").filter((l) => l.length > 0 && !l.startsWith("-----"))
      expect(secretOccurrences(out, [...p.secrets, keyPassword, ...keyLines]), "secrets in --validate output").toEqual([])
    }), 60_000)
  const acl = (topic: string, principal: string, operation: TopicAcl["operation"], permission: TopicAcl["permission"]): TopicAcl => ({
    topic,
    pattern: "literal",
    principal,
    host: "*",
    operation,
    permission
  })

  it.scopedLive("literal topic ACLs reach remote topics by MM2's rules: ALLOW ALL as READ, no ALLOW WRITE, DENY kept, filtered topics not", () =>
    Effect.gen(function*() {
      const p = pair()
      const id = uniqueId()
      const aliases = { source: `as${id}`, target: `at${id}` }
      const [orders, other] = [`aclorders${id}`, `aclother${id}`]
      const source = p.client("source")
      const target = p.client("target")
      yield* source.createTopic(orders, 1)
      yield* source.createTopic(other, 1)
      yield* source.withAdmin((a) =>
        a.createTopicAcls([
          acl(orders, "User:dave", "all", "allow"),
          acl(orders, "User:erin", "write", "allow"),
          acl(orders, "User:frank", "read", "deny"),
          acl(orders, "User:frank", "all", "deny"),
          acl(other, "User:dave", "read", "allow")
        ])
      )
      const file = yield* writeProps({ ...securedFlow(p, aliases, orders), "sync.topic.acls.interval.seconds": "1" })
      const mm2 = yield* spawnMm2(["--config", file])
      const remote = `${aliases.source}.${orders}`
      const remoteAclsNow = target.withAdmin((a) => a.describeTopicAcls).pipe(
        Effect.map((acls) => acls.filter((a) => a.topic.startsWith(`${aliases.source}.`)).map((a) => `${a.permission} ${a.principal} ${a.operation} ${a.topic}`).sort())
      )
      const want = [
        `allow User:dave read ${remote}`,
        `deny User:frank all ${remote}`,
        `deny User:frank read ${remote}`
      ]
      yield* whileRunning(mm2, "the ACLs on the target", eventually("ACLs synced", remoteAclsNow, (acls) => acls.length >= want.length, { timeout: "60 seconds" }))
      // an ACL added later arrives within an interval; nothing else appears over several rounds
      yield* source.withAdmin((a) => a.createTopicAcls([acl(orders, "User:erin", "describe", "allow")]))
      const all = [...want, `allow User:erin describe ${remote}`].sort()
      yield* whileRunning(mm2, "the later ACL on the target", eventually("the later ACL synced", remoteAclsNow, (acls) => acls.length >= all.length, { timeout: "60 seconds" }))
      yield* Effect.sleep("3 seconds")
      expect(yield* remoteAclsNow).toEqual(all)
      yield* stopGracefully(mm2, "effect-mm2 after syncing ACLs")
      expect(secretOccurrences(output(mm2), p.secrets)).toEqual([])
    }), 120_000)

  it.scopedLive("a user who may not read ACLs: the ACL task stops with one error saying what is missing, replication goes on", () =>
    Effect.gen(function*() {
      const p = pair()
      const id = uniqueId()
      const aliases = { source: `rs${id}`, target: `rt${id}` }
      const topic = `aclrefused${id}`
      const source = p.client("source")
      yield* source.createTopic(topic, 1)
      yield* source.produce(topic, mixedRecords(2, 20, 1))
      // mm2 may replicate (topics, its progress group) but not describe the cluster's ACLs
      yield* Effect.all([
        aclCommand(p, "source", ["--operation", "Read", "--operation", "Describe", "--operation", "DescribeConfigs", "--topic", topic]),
        aclCommand(p, "source", ["--operation", "Read", "--operation", "Describe", "--group", "effect-mm2.", "--resource-pattern-type", "prefixed"]),
        aclCommand(p, "target", [
          "--operation", "Create", "--operation", "Write", "--operation", "Describe", "--operation", "DescribeConfigs", "--operation", "AlterConfigs",
          "--topic", `${aliases.source}.`, "--resource-pattern-type", "prefixed"
        ]),
        // where effect-mm2 records the source topic ids of its positions (README, "Where progress lives")
        aclCommand(p, "target", ["--operation", "Read", "--operation", "Describe", "--group", "effect-mm2.", "--resource-pattern-type", "prefixed"])
      ], { concurrency: 4 })
      const file = yield* writeProps({
        ...securedFlow(p, aliases, topic),
        ...p.clientProps(aliases.source, "source", { user: "mm2" }),
        ...p.clientProps(aliases.target, "target", { user: "mm2" }),
        // only replication and the ACL sync: the other duties would need more ACLs
        "emit.heartbeats.enabled": "false",
        "emit.offset-syncs.enabled": "false",
        "emit.checkpoints.enabled": "false",
        "sync.topic.configs.enabled": "false",
        "sync.topic.acls.interval.seconds": "1"
      })
      const mm2 = yield* spawnMm2(["--config", file])
      const remote = `${aliases.source}.${topic}`
      yield* whileRunning(mm2, `${remote} on the target`, p.client("target").waitForCount(remote, 20)).pipe(
        Effect.mapError((e) => new Error(`${e.message}\n${mm2.tail()}`))
      )
      yield* Effect.sleep("3 seconds")
      const lines = logRecords(mm2).filter((r) => r.text.includes("topic-acls"))
      const errors = lines.filter((r) => r.level === "ERROR")
      expect(errors.length, mm2.tail()).toBe(1)
      expect(errors[0]!.text).toMatch(/DESCRIBE on the CLUSTER resource/)
      expect(lines.filter((r) => r.level === "WARN"), "not retried").toEqual([])
      // still replicating
      yield* source.produce(topic, mixedRecords(3, 5, 1))
      yield* whileRunning(mm2, `more of ${remote}`, p.client("target").waitForCount(remote, 25))
      yield* stopGracefully(mm2, "effect-mm2 with a refused ACL sync")
    }), 120_000)
})

describe("harness: an SSL-only broker", () => {
  // also the only run of the keytool fallback (used where openssl is missing), so it cannot rot
  it.scopedLive("with keytool-made certificates: records go over TLS; a client without the CA is refused", () =>
    Effect.gen(function*() {
      const info = yield* makeKafkaCluster({ name: "ssl-only", security: { protocol: "SSL", certificateTool: "keytool" } })
      expect(info.security?.protocol).toBe("SSL")
      expect(info.security?.tls?.generatedWith).toBe("keytool")
      expect(info.security?.saslMechanisms).toEqual([])
      const client = clusterClient(info)
      const topic = `ssl${uniqueId()}`
      const records = mixedRecords(2, 30, PARTITIONS)
      yield* client.createTopic(topic, PARTITIONS)
      yield* client.produce(topic, records)
      expect(viewByPartition(yield* client.readAll(topic, records.length))).toEqual(expectedByPartition(records, PARTITIONS))

      // TLS is really on: without the generated CA the broker's certificate is not trusted
      const untrusted = yield* Effect.gen(function*() {
        const kafka = yield* KafkaClient
        const settings = new Map([["bootstrap.servers", info.bootstrapServers], ["security.protocol", "SSL"]])
        const admin = yield* kafka.admin(yield* connectionSettings("ssl-only", settings, "it-untrusted"))
        return yield* admin.listTopics
      }).pipe(Effect.scoped, Effect.provide(KafkaJsClient.layer), Effect.either)
      expect(Either.isLeft(untrusted) && untrusted.left.message, "connecting without the CA").toMatch(/certificate/i)
    }), 90_000)
})

interface LogRecord {
  readonly level: string
  /** from the line's `[herder task]`, when it has one */
  readonly herder: string | undefined
  readonly task: string | undefined
  /** the line with its continuation lines (`<same head> | ...`: the rest of a message, a cause) */
  readonly text: string
}

/**
 * The CLI's log output as records, from both streams (ERROR lines go to stderr):
 * `<ISO time> LEVEL [herder task] message` lines, a continuation repeating the head then `| `.
 */
const logRecords = (mm2: Mm2Process): ReadonlyArray<LogRecord> => {
  const out: Array<{ level: string; herder: string | undefined; task: string | undefined; text: string }> = []
  for (const stream of [mm2.stdout(), mm2.stderr()]) {
    for (const line of stream.split("\n")) {
      const head = /^\d{4}-\d\d-\d\dT[\d:.]+Z ([A-Z]+) +(?:\[(\S+) (\S+)\] )?(\| )?/.exec(line)
      if (head === null) continue
      const last = out[out.length - 1]
      if (head[4] !== undefined && last !== undefined) last.text += `\n${line}`
      else out.push({ level: head[1]!, herder: head[2], task: head[3], text: line })
    }
  }
  return out
}
