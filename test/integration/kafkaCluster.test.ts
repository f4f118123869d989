import * as fs from "node:fs"
import * as net from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { inject } from "vitest"
import {
  DEFAULT_KAFKA_VERSION,
  isProcessAlive,
  KafkaCluster,
  type KafkaClusterInfo
} from "../../harness/index.js"

const canConnect = (bootstrap: string): Promise<boolean> => {
  const [host, port] = bootstrap.split(":")
  return new Promise((resolve) => {
    const socket = net.connect({ host: host ?? "127.0.0.1", port: Number(port) })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(5000, () => done(false))
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
  })
}

const expectedVersion = (): string => {
  const v = process.env["KAFKA_VERSION"]?.trim()
  return v !== undefined && v.length > 0 ? v : DEFAULT_KAFKA_VERSION
}

describe("globalSetup clusters", () => {
  it("provides two distinct loopback bootstraps that accept TCP connections", async () => {
    const primary = inject("primaryBootstrap")
    const backup = inject("backupBootstrap")
    expect(primary).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(backup).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(primary).not.toBe(backup)
    expect(await canConnect(primary)).toBe(true)
    expect(await canConnect(backup)).toBe(true)
  })

  it("runs the requested Kafka version", () => {
    // with KAFKA_HOME set the version comes from its jars and must still match KAFKA_VERSION if given
    if (process.env["KAFKA_HOME"] === undefined || process.env["KAFKA_VERSION"] !== undefined) {
      expect(inject("kafkaVersion")).toBe(expectedVersion())
    }
  })
})

describe("KafkaCluster.make", () => {
  // live clock: readiness polling uses real Schedules
  it.live("starts a broker in its own scope and removes JVM and run dir when the scope closes", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const info: KafkaClusterInfo = yield* KafkaCluster.make({ name: "third" }).pipe(Scope.extend(scope))

      expect(info.bootstrapServers).toBe(`127.0.0.1:${info.clientPort}`)
      expect(info.bootstrapServers).not.toBe(inject("primaryBootstrap"))
      expect(info.bootstrapServers).not.toBe(inject("backupBootstrap"))
      expect(isProcessAlive(info.pid)).toBe(true)
      expect(fs.existsSync(info.dataDir)).toBe(true)
      expect(yield* Effect.promise(() => canConnect(info.bootstrapServers))).toBe(true)
      // the broker itself reports the version the jars were resolved for
      expect(fs.readFileSync(info.logFile, "utf8")).toContain(`Kafka version: ${info.version}`)

      yield* Scope.close(scope, Exit.void)

      expect(isProcessAlive(info.pid)).toBe(false)
      expect(fs.existsSync(info.runDir)).toBe(false)
      expect(yield* Effect.promise(() => canConnect(info.bootstrapServers))).toBe(false)
    }), 120_000)

  it.live("fails with a tagged error carrying the log tail when a fixed port is taken", () =>
    Effect.gen(function* () {
      // occupy a port so the broker's bind fails
      const blocker = net.createServer()
      const port = yield* Effect.promise(
        () =>
          new Promise<number>((resolve) =>
            blocker.listen({ host: "127.0.0.1", port: 0 }, () => {
              const a = blocker.address()
              resolve(typeof a === "object" && a !== null ? a.port : -1)
            })
          )
      )
      const exit = yield* Effect.scoped(
        KafkaCluster.make({ name: "portclash", ports: { client: port, controller: port + 1 === 65536 ? port - 1 : port + 1 } })
      ).pipe(Effect.exit, Effect.ensuring(Effect.sync(() => blocker.close())))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const err = exit.cause._tag === "Fail" ? exit.cause.error : undefined
        expect(err?._tag).toBe("KafkaPortInUseError")
        if (err?._tag === "KafkaPortInUseError") {
          expect(err.bindError).toContain("Address already in use")
          expect(err.ports.client).toBe(port)
          expect(err.logTail.length).toBeGreaterThan(0)
        }
      }
    }), 120_000)
})
