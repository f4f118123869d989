/**
 * The latency proxy of the test harness: bytes arrive in order and no sooner than the configured
 * delay, it closes with its scope, and a broker started with `latency` advertises it (clients stay
 * behind it after metadata) while its DIRECT listener stays undelayed. Lower bounds only: a busy
 * machine may be slower, never faster.
 */
import * as fs from "node:fs"
import * as net from "node:net"
import { performance } from "node:perf_hooks"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { KafkaCluster, makeLatencyProxy } from "../../harness/index.js"
import { loadKafkaJs } from "../../src/kafka/internal/kafkajs.js"
import { createTopic, produceWrites, withAdmin } from "./support/kafka.js"

/** A TCP echo server on loopback, closed (with its connections) when the scope closes. */
const echoServer = Effect.acquireRelease(
  Effect.async<{ readonly server: net.Server; readonly port: number; readonly sockets: Set<net.Socket> }>((resume) => {
    const sockets = new Set<net.Socket>()
    const server = net.createServer((s) => {
      sockets.add(s)
      s.on("close", () => sockets.delete(s))
      s.on("error", () => s.destroy())
      s.pipe(s)
    })
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      const a = server.address()
      resume(Effect.succeed({ server, sockets, port: typeof a === "object" && a !== null ? a.port : 0 }))
    })
  }),
  ({ server, sockets }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
      for (const s of sockets) s.destroy()
    })
)

const connect = (port: number) =>
  Effect.acquireRelease(
    Effect.async<net.Socket, Error>((resume) => {
      const s = net.connect({ host: "127.0.0.1", port, noDelay: true })
      s.once("connect", () => resume(Effect.succeed(s)))
      s.once("error", (e) => resume(Effect.fail(e)))
    }),
    (s) => Effect.sync(() => s.destroy())
  )

/** Sends `payload` and resolves with what came back once `payload.length` bytes did, and the time it took. */
const roundTrip = (s: net.Socket, payload: Buffer) =>
  Effect.async<{ readonly echoed: Buffer; readonly ms: number }>((resume) => {
    const parts: Array<Buffer> = []
    let got = 0
    const t0 = performance.now()
    const onData = (b: Buffer) => {
      parts.push(b)
      got += b.length
      if (got >= payload.length) {
        s.off("data", onData)
        resume(Effect.succeed({ echoed: Buffer.concat(parts), ms: performance.now() - t0 }))
      }
    }
    s.on("data", onData)
    // many small writes: order must hold across chunks released together
    for (let i = 0; i < payload.length; i += 4096) s.write(payload.subarray(i, i + 4096))
    return Effect.sync(() => s.off("data", onData))
  })

const refused = (port: number) =>
  Effect.async<boolean>((resume) => {
    const s = net.connect({ host: "127.0.0.1", port })
    s.once("connect", () => {
      s.destroy()
      resume(Effect.succeed(false))
    })
    s.once("error", () => resume(Effect.succeed(true)))
  })

const closed = (s: net.Socket) =>
  Effect.async<void>((resume) => {
    if (s.destroyed || s.readyState === "closed") return resume(Effect.void)
    s.once("close", () => resume(Effect.void))
  })

describe("LatencyProxy", () => {
  it.live("delays each round trip by at least the configured time, keeps byte order, and closes with its scope", () =>
    Effect.gen(function*() {
      const echo = yield* echoServer
      const scope = yield* Scope.make()
      const proxy = yield* makeLatencyProxy({ target: { host: "127.0.0.1", port: echo.port }, rttMs: 120 }).pipe(Scope.extend(scope))
      expect(proxy.address).toBe(`127.0.0.1:${proxy.port}`)

      const client = yield* connect(proxy.port)
      const payload = Buffer.alloc(1024 * 1024)
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + (i >> 8)) & 0xff
      const first = yield* roundTrip(client, payload)
      expect(first.echoed.equals(payload)).toBe(true)
      expect(first.ms).toBeGreaterThanOrEqual(120 - 2) // timer granularity
      // a connection that is already open pays the same
      const second = yield* roundTrip(client, Buffer.from("ping"))
      expect(second.echoed.toString()).toBe("ping")
      expect(second.ms).toBeGreaterThanOrEqual(120 - 2)
      expect(proxy.connections()).toBe(1)
      expect(proxy.accepted()).toBe(1)

      yield* Scope.close(scope, Exit.void)
      // the open connection was closed and nothing listens any more
      yield* closed(client)
      expect(yield* refused(proxy.port)).toBe(true)
      expect(proxy.connections()).toBe(0)
    }).pipe(Effect.scoped))

  it.live("forwards without delay at 0 ms", () =>
    Effect.gen(function*() {
      const echo = yield* echoServer
      const proxy = yield* makeLatencyProxy({ target: { host: "127.0.0.1", port: echo.port }, rttMs: 0 })
      const client = yield* connect(proxy.port)
      const r = yield* roundTrip(client, Buffer.from("hello"))
      expect(r.echoed.toString()).toBe("hello")
    }).pipe(Effect.scoped))
})

describe("KafkaCluster with latency", () => {
  it.live("advertises the proxy: clients work through it, each round trip pays the RTT, and it closes with the cluster", () =>
    Effect.gen(function*() {
      const rttMs = 100
      const scope = yield* Scope.make()
      const info = yield* KafkaCluster.make({ name: "far", latency: { rttMs } }).pipe(Scope.extend(scope))
      const latency = info.latency!
      expect(latency.rttMs).toBe(rttMs)
      expect(info.bootstrapServers).toBe(`127.0.0.1:${latency.proxyPort}`)
      expect(latency.directBootstrapServers).not.toBe(info.bootstrapServers)
      expect(fs.readFileSync(`${info.runDir}/server.properties`, "utf8")).toContain(`PLAINTEXT://127.0.0.1:${latency.proxyPort}`)

      // what the broker tells clients: the proxy's address, on either listener its own
      const kafkajs = yield* Effect.promise(() => loadKafkaJs())
      const describe = (bootstrap: string) =>
        Effect.acquireUseRelease(
          Effect.promise(async () => {
            const admin = new kafkajs.Kafka({ brokers: [bootstrap], clientId: "latency-test", logLevel: kafkajs.logLevel.NOTHING }).admin()
            await admin.connect()
            return admin
          }),
          (admin) => Effect.promise(() => admin.describeCluster()),
          (admin) => Effect.promise(() => admin.disconnect())
        )
      const proxied = yield* describe(info.bootstrapServers)
      expect(proxied.brokers.map((b) => `${b.host}:${b.port}`)).toEqual([info.bootstrapServers])
      const direct = yield* describe(latency.directBootstrapServers)
      expect(direct.brokers.map((b) => `${b.host}:${b.port}`)).toEqual([latency.directBootstrapServers])

      // the project's client works through the proxy, and a request round trip takes at least the RTT
      const topic = "far-away"
      yield* createTopic(info.bootstrapServers, topic, 2)
      const before = latency.proxiedConnections()
      yield* produceWrites(info.bootstrapServers, [{ topic, partition: 1, records: [{ key: Buffer.from("k"), value: Buffer.from("v"), headers: [], timestamp: String(Date.now()) }] }])
      // through the proxy (kafkajs keeps its bootstrap connection for the advertised broker of the same address)
      expect(latency.proxiedConnections()).toBeGreaterThanOrEqual(before + 1)
      const timed = yield* withAdmin(info.bootstrapServers, (admin) =>
        Effect.gen(function*() {
          yield* admin.fetchTopicOffsets(topic) // connects and loads metadata
          const t0 = performance.now()
          const offsets = yield* admin.fetchTopicOffsets(topic)
          return { offsets, ms: performance.now() - t0 }
        }))
      expect(timed.offsets.find((o) => o.partition === 1)?.high).toBe("1")
      expect(timed.ms).toBeGreaterThanOrEqual(rttMs - 2)

      yield* Scope.close(scope, Exit.void)
      expect(yield* refused(latency.proxyPort)).toBe(true)
    }), 180_000)
})
