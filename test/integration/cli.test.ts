/**
 * The command line as users run it: `node dist/main.js ...` (built by `npm run build`). Every
 * configuration here points at a closed loopback port, so a process that tried to connect would
 * not finish on its own: exiting at all shows it validated before connecting.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { writeProps } from "./support/kafka.js"
import { closedLoopbackPort, spawnMm2, stripAnsi } from "./support/process.js"

const EXIT_WITHIN = "30 seconds"

const twoClusters = (port: number, extra: Readonly<Record<string, string>> = {}) => ({
  "clusters": "x, y",
  "x.bootstrap.servers": `127.0.0.1:${port}`,
  "y.bootstrap.servers": `127.0.0.1:${port}`,
  "x->y.enabled": "true",
  ...extra
})

describe("CLI (node dist/main.js)", () => {
  it.scopedLive("an invalid value fails before connecting, naming the key and the file", () =>
    Effect.gen(function*() {
      const port = yield* closedLoopbackPort
      const file = yield* writeProps(twoClusters(port, { "replication.factor": "two" }))
      const child = yield* spawnMm2(["--config", file])
      const status = yield* child.waitExit(EXIT_WITHIN, "effect-mm2 with replication.factor = two")
      const stderr = child.stderr()
      expect(status.code, child.tail()).not.toBe(0)
      expect(status.code, child.tail()).not.toBeNull()
      expect(stderr).toContain("replication.factor")
      expect(stderr).toContain(file)
      expect(stderr).toContain("two")
      // it never started replicating, so it never tried the (closed) brokers
      expect(child.stdout()).not.toContain("Starting with")
      expect(stderr).not.toMatch(/ECONNREFUSED|Connection error|KafkaJS/i)
    }), 60_000)

  it.scopedLive("--validate prints the flows and exits 0 without connecting", () =>
    Effect.gen(function*() {
      const port = yield* closedLoopbackPort
      const file = yield* writeProps(twoClusters(port))
      const child = yield* spawnMm2(["--config", file, "--validate"])
      const status = yield* child.waitExit(EXIT_WITHIN, "effect-mm2 --validate")
      expect(status.code, child.tail()).toBe(0)
      expect(child.stdout()).toContain("Starting with 1 enabled replication flows: [x->y]")
      expect(child.stderr()).not.toMatch(/ECONNREFUSED|Connection error|KafkaJS/i)
    }), 60_000)

  it.scopedLive("--clusters with an unknown alias is a configuration error", () =>
    Effect.gen(function*() {
      const port = yield* closedLoopbackPort
      const file = yield* writeProps(twoClusters(port))
      const child = yield* spawnMm2(["--config", file, "--clusters", "zz", "--validate"])
      const status = yield* child.waitExit(EXIT_WITHIN, "effect-mm2 --clusters zz")
      expect(status.code, child.tail()).not.toBe(0)
      expect(child.stderr()).toContain("--clusters")
      expect(child.stderr()).toContain("zz")
    }), 60_000)

  it.scopedLive("--help exits 0 and documents --config, --clusters and --validate", () =>
    Effect.gen(function*() {
      const child = yield* spawnMm2(["--help"])
      const status = yield* child.waitExit(EXIT_WITHIN, "effect-mm2 --help")
      expect(status.code, child.tail()).toBe(0)
      const help = stripAnsi(child.stdout())
      expect(help).toContain("--config")
      expect(help).toContain("--clusters")
      expect(help).toContain("--validate")
    }), 60_000)

  it.scopedLive("--help piped has no colour codes, NO_COLOR set or not, and documents --log-format", () =>
    Effect.gen(function*() {
      // spawnMm2 sets NO_COLOR=1; an empty NO_COLOR counts as unset: only the pipe says "no colour"
      for (const env of [{ NO_COLOR: "" }, { NO_COLOR: "1" }]) {
        const child = yield* spawnMm2(["--help"], { env })
        const status = yield* child.waitExit(EXIT_WITHIN, `effect-mm2 --help with NO_COLOR=${env.NO_COLOR}`)
        expect(status.code, child.tail()).toBe(0)
        expect(child.stdout()).toContain("--log-format")
        expect(child.stdout()).not.toContain("\u001b[")
      }
      // nor @effect/cli's messages on stderr
      const wrong = yield* spawnMm2(["--log-format", "xml", "--help-me"], { env: { NO_COLOR: "" } })
      yield* wrong.waitExit(EXIT_WITHIN, "effect-mm2 with a wrong option")
      expect(wrong.stderr().length, wrong.tail()).toBeGreaterThan(0)
      expect(wrong.stderr()).not.toContain("\u001b[")
    }), 60_000)

  it.scopedLive("--log-format anywhere; a wrong value is rejected with the choices", () =>
    Effect.gen(function*() {
      const port = yield* closedLoopbackPort
      const file = yield* writeProps(twoClusters(port))
      const json = yield* spawnMm2([file, "--validate", "--log-format", "json"])
      expect((yield* json.waitExit(EXIT_WITHIN, "effect-mm2 FILE --validate --log-format json")).code, json.tail()).toBe(0)
      const xml = yield* spawnMm2(["--config", file, "--validate", "--log-format", "xml"])
      const status = yield* xml.waitExit(EXIT_WITHIN, "effect-mm2 --log-format xml")
      expect(status.code, xml.tail()).toBe(1)
      expect(stripAnsi(xml.stderr())).toContain("text, json")
    }), 60_000)

  it.scopedLive("a missing configuration file is a clear error", () =>
    Effect.gen(function*() {
      const missing = path.join(os.tmpdir(), `effect-mm2-it-missing-${process.pid}-${Date.now()}.properties`)
      const child = yield* spawnMm2(["--config", missing])
      const status = yield* child.waitExit(EXIT_WITHIN, "effect-mm2 with a missing file")
      const stderr = stripAnsi(child.stderr())
      expect(status.code, child.tail()).not.toBe(0)
      expect(status.code, child.tail()).not.toBeNull()
      expect(stderr).toContain(missing)
      // one readable message, no leaked object rendering or stack trace
      expect(stderr).not.toContain("[object Object]")
      expect(stderr).not.toMatch(/\n\s+at /)
    }), 60_000)

  it.scopedLive("takes the file as its first argument, as connect-mirror-maker.sh does", () =>
    Effect.gen(function*() {
      const port = yield* closedLoopbackPort
      const file = yield* writeProps(twoClusters(port, { "y->x.enabled": "true" }))
      const child = yield* spawnMm2([file, "--clusters", "y", "--validate"])
      const status = yield* child.waitExit(EXIT_WITHIN, "effect-mm2 FILE --clusters y --validate")
      expect(status.code, child.tail()).toBe(0)
      expect(child.stdout()).toContain("Starting with 1 enabled replication flows: [x->y]")
    }), 60_000)

  it.scopedLive("without arguments prints the usage and exits 1", () =>
    Effect.gen(function*() {
      const child = yield* spawnMm2([])
      const status = yield* child.waitExit(EXIT_WITHIN, "effect-mm2 without arguments")
      expect(status.code, child.tail()).toBe(1)
      expect(child.stderr()).toContain("Usage: effect-mm2 mm2.properties")
      expect(child.stderr()).toContain("effect-mm2 --config mm2.properties")
      expect(child.stderr()).not.toMatch(/\n\s+at /)
    }), 60_000)

  it.scopedLive("--validate rejects at once everything start-up would, naming the file and each key as written", () =>
    Effect.gen(function*() {
      const port = yield* closedLoopbackPort
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mm2-it-cli-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      const file = yield* writeProps({
        "clusters": "x, y, z, w",
        "x.bootstrap.servers": "localhost",
        "y.bootstrap.servers": `127.0.0.1:${port}`,
        "z.bootstrap.servers": "127.0.0.1:99999",
        "w.bootstrap.servers": `127.0.0.1:${port}`,
        "x->y.enabled": "true",
        "z->w.enabled": "true",
        "y.security.protocol": "SSL",
        "y.ssl.truststore.type": "JKS",
        "y.ssl.truststore.location": path.join(dir, "truststore.jks"),
        "w.security.protocol": "SASL_SSL",
        "w.sasl.mechanism": "GSSAPI",
        "w.ssl.truststore.location": path.join(dir, "missing.pem"),
        "x.security.protocol": "SASL_PLAIN",
        "z.security.protocol": "SASL_PLAINTEXT",
        "z.sasl.mechanism": "PLAIN",
        "z.sasl.jaas.config": "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"s3cret\"",
        "y.producer.compression.type": "brotli",
        "w.producer.acks": "2",
        "topics": "[a-c[x-z]], a++"
      })
      const child = yield* spawnMm2([file, "--validate"])
      const status = yield* child.waitExit(EXIT_WITHIN, "effect-mm2 --validate with many problems")
      const stderr = child.stderr()
      expect(status.code, child.tail()).toBe(1)
      for (
        const key of [
          "x.bootstrap.servers",
          "z.bootstrap.servers",
          "y.ssl.truststore.type",
          "w.sasl.mechanism",
          "w.ssl.truststore.location",
          "x.security.protocol",
          "z.sasl.jaas.config",
          "y.producer.compression.type",
          "w.producer.acks"
        ]
      ) {
        expect(stderr, key).toContain(`effect-mm2: ${file}: ${key}: `)
      }
      // the global key, once, with both bad patterns
      expect(stderr.match(new RegExp(`${file}: topics: `, "g"))).toHaveLength(1)
      expect(stderr).toContain('"[a-c[x-z]]"')
      expect(stderr).toContain('"a++"')
      expect(stderr).not.toContain("->y.topics")
      expect(stderr).not.toContain("s3cret")
      expect(stderr).not.toMatch(/\n\s+at /)
      expect(child.stdout()).not.toContain("Starting with")
    }), 60_000)

  // inputs that used to end in a raw stack trace
  const noStack = [
    {
      name: "a malformed \\uZZZZ escape",
      setup: (dir: string) => {
        const file = path.join(dir, "bad.properties")
        fs.writeFileSync(file, "clusters = a, b\nb.bootstrap.servers = x\\uZZZZ:9092\n")
        return { args: [file], env: {}, expect: [`${file}: malformed properties file: line 2`] }
      }
    },
    {
      name: "a symlink loop as the configuration path",
      setup: (dir: string) => {
        const [a, b] = [path.join(dir, "loop-a"), path.join(dir, "loop-b")]
        fs.symlinkSync(b, a)
        fs.symlinkSync(a, b)
        return { args: ["--config", a], env: {}, expect: [`${a}: cannot read configuration file`] }
      }
    },
    {
      name: "OTEL_EXPORTER_OTLP_ENDPOINT=not-a-url",
      setup: (dir: string) => {
        const file = path.join(dir, "ok.properties")
        fs.writeFileSync(file, "clusters = a, b\na.bootstrap.servers = 127.0.0.1:1\nb.bootstrap.servers = 127.0.0.1:1\na->b.enabled = true\n")
        return {
          args: [file],
          env: { OTEL_EXPORTER_OTLP_ENDPOINT: "not-a-url" },
          expect: ["OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:// or https:// URL"]
        }
      }
    }
  ]
  for (const c of noStack) {
    it.scopedLive(`${c.name} is one clear line, exit 1, no stack trace`, () =>
      Effect.gen(function*() {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mm2-it-cli-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
        const t = c.setup(dir)
        const child = yield* spawnMm2(t.args, { env: t.env })
        const status = yield* child.waitExit(EXIT_WITHIN, `effect-mm2 with ${c.name}`)
        const stderr = stripAnsi(child.stderr())
        expect(status.code, child.tail()).toBe(1)
        for (const e of t.expect) expect(stderr).toContain(e)
        expect(stderr.trim().split("\n"), stderr).toHaveLength(1)
        expect(stderr).not.toMatch(/\n\s+at |Error:/)
      }), 60_000)
  }
})
