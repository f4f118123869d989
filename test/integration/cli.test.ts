/**
 * The command line as users run it: `node dist/main.js ...` (built by `npm run build`). Every
 * configuration here points at a closed loopback port, so a process that tried to connect would
 * not finish on its own: exiting at all shows it validated before connecting.
 */
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
})
