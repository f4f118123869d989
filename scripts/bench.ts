/**
 * `npm run bench`: fills a source topic with a backlog, replicates it with `node dist/main.js`
 * (a separate process, so its memory is measured alone), and prints throughput and peak RSS.
 *
 * Options (environment): BENCH_RECORDS (500000), BENCH_RECORD_BYTES (1024), BENCH_PARTITIONS (6),
 * BENCH_COMPRESSION (none; the source producer's codec), BENCH_PROPERTIES (more mm2.properties
 * lines, `;`-separated), BENCH_NODE_ARGS (Node options of the replicator process), BENCH_VALUE_RATIO (none: every value
 * is RECORD_BYTES of 0x61; N: each value starts with about RECORD_BYTES/N random bytes and the
 * rest repeats, so values compress about N:1; the ratio zstd reaches is printed), KAFKA_VERSION.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Duration, Effect, Either, Schedule } from "effect"
import { compress as zstdCompress } from "@mongodb-js/zstd"
import { spawn } from "node:child_process"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type Compression, connectionSettings, producerSettings } from "../src/kafka/ClientSettings.js"
import { KafkaClient } from "../src/kafka/KafkaClient.js"
import * as KafkaJsClient from "../src/kafka/KafkaJsClient.js"
import { findRepoRoot, TestClusters } from "../harness/index.js"

/**
 * `--rtt-ms N` (or BENCH_RTT_MS): both clusters behind a LatencyProxy adding N ms per round trip
 * (N/2 each way) to every connection of the replicator. The backlog is written, and arrival
 * counted, through each broker's undelayed listener. Without it no proxy is started at all.
 */
const rttArg = (): number | undefined => {
  const args = process.argv.slice(2)
  const i = args.findIndex((a) => a === "--rtt-ms" || a.startsWith("--rtt-ms="))
  const raw = i < 0 ? process.env["BENCH_RTT_MS"] : args[i]!.includes("=") ? args[i]!.split("=")[1] : args[i + 1]
  if (raw === undefined || raw.trim() === "") return undefined
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) throw new Error(`--rtt-ms / BENCH_RTT_MS: expected a number of milliseconds >= 0, got ${JSON.stringify(raw)}`)
  return n
}
const RTT_MS = rttArg()

const env = (k: string, d: number) => (process.env[k] === undefined ? d : Number(process.env[k]))
const RECORDS = env("BENCH_RECORDS", 500_000)
const RECORD_BYTES = env("BENCH_RECORD_BYTES", 1024)
const PARTITIONS = env("BENCH_PARTITIONS", 6)
const COMPRESSION = (process.env["BENCH_COMPRESSION"] ?? "none") as Compression
const VALUE_RATIO = process.env["BENCH_VALUE_RATIO"] === undefined ? undefined : Math.max(1, Number(process.env["BENCH_VALUE_RATIO"]))
const TOPIC = "bench"

const conn = (alias: string, bootstrap: string) =>
  connectionSettings(alias, new Map([["bootstrap.servers", bootstrap]]), "effect-mm2-bench").pipe(Either.getOrThrow)

const fill = (bootstrap: string) =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    const admin = yield* kafka.admin(conn("primary", bootstrap))
    yield* admin.createTopics([{ name: TOPIC, partitions: PARTITIONS, replicationFactor: 1 }])
    const producer = yield* kafka.producer(
      conn("primary", bootstrap),
      Either.getOrThrow(producerSettings("primary", new Map([["compression.type", COMPRESSION]])))
    )
    const same = Buffer.alloc(RECORD_BYTES, 0x61)
    // random bytes differ per record, or the codec would find them repeated across the batch
    const random = VALUE_RATIO === undefined ? 0 : Math.min(RECORD_BYTES, Math.round(RECORD_BYTES / VALUE_RATIO))
    const valueOf = random === 0 ? () => same : () => {
      const v = Buffer.alloc(RECORD_BYTES, 0x61)
      crypto.randomFillSync(v, 0, random)
      return v
    }
    const perRequest = Math.max(1, Math.floor(900_000 / (RECORD_BYTES + 40)))
    if (VALUE_RATIO !== undefined) {
      const sample = Buffer.concat(Array.from({ length: perRequest }, valueOf))
      const packed = yield* Effect.promise(() => zstdCompress(sample, 3))
      yield* Console.log(`values: ${random} random bytes each; a batch of ${perRequest} values compresses ${(sample.length / packed.length).toFixed(1)}:1 with zstd`)
    }
    let written = 0
    let partition = 0
    while (written < RECORDS) {
      const n = Math.min(perRequest, RECORDS - written)
      const records = Array.from({ length: n }, (_, i) => ({
        key: Buffer.from(String(written + i)),
        value: valueOf(),
        headers: [],
        timestamp: String(Date.now())
      }))
      yield* producer.send([{ topic: TOPIC, partition, records }])
      written += n
      partition = (partition + 1) % PARTITIONS
    }
  }).pipe(Effect.scoped)

/** VmHWM (peak resident set) and VmRSS of a live process, in MiB */
const memoryOf = (pid: number) => {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
    const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
    return { peak: kb("VmHWM") / 1024, rss: kb("VmRSS") / 1024 }
  } catch {
    return { peak: 0, rss: 0 }
  }
}

const main = Effect.gen(function*() {
  const root = yield* findRepoRoot()
  const { primary, backup } = yield* TestClusters.makePair(RTT_MS === undefined ? {} : { latency: { rttMs: RTT_MS } })
  yield* Console.log(RTT_MS === undefined
    ? "round-trip time: as is (loopback, no proxy)"
    : `round-trip time: +${RTT_MS} ms on every replicator connection to both clusters (a proxy delaying each direction ${RTT_MS / 2} ms; filling and counting bypass it)`)
  const direct = (c: typeof primary) => c.latency?.directBootstrapServers ?? c.bootstrapServers
  yield* Console.log(`Kafka ${primary.version}; filling ${RECORDS} records of ${RECORD_BYTES} B over ${PARTITIONS} partitions (${COMPRESSION})...`)
  const t0 = Date.now()
  yield* fill(direct(primary))
  yield* Console.log(`backlog written in ${((Date.now() - t0) / 1000).toFixed(1)} s`)

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mm2-bench-"))
  const file = path.join(dir, "mm2.properties")
  fs.writeFileSync(file, [
    "clusters = primary, backup",
    `primary.bootstrap.servers = ${primary.bootstrapServers}`,
    `backup.bootstrap.servers = ${backup.bootstrapServers}`,
    "primary->backup.enabled = true",
    `primary->backup.topics = ${TOPIC}`,
    "replication.factor = 1",
    "heartbeats.topic.replication.factor = 1",
    "offset-syncs.topic.replication.factor = 1",
    "checkpoints.topic.replication.factor = 1",
    // e.g. BENCH_PROPERTIES="effect-mm2.replication.buffer.bytes=8388608;offset.lag.max=1000"
    ...(process.env["BENCH_PROPERTIES"] ?? "").split(";").filter((l) => l.trim() !== ""),
    ""
  ].join("\n"))

  const kafka = yield* KafkaClient
  const target = yield* kafka.admin(conn("backup", direct(backup)))
  const arrived = target.fetchTopicOffsets(`primary.${TOPIC}`).pipe(
    Effect.map((ps) => ps.reduce((n, p) => n + Number(p.high), 0)),
    Effect.orElseSucceed(() => 0)
  )

  const start = Date.now()
  const child = yield* Effect.acquireRelease(
    Effect.sync(() => spawn(process.execPath, [...(process.env["BENCH_NODE_ARGS"] ?? "").split(" ").filter((a) => a !== ""), path.join(root, "dist", "main.js"), "--config", file], { stdio: ["ignore", "ignore", "inherit"] })),
    (c) => Effect.sync(() => c.kill("SIGKILL"))
  )
  let peak = 0
  let firstAt = 0
  let firstCount = 0
  yield* Effect.gen(function*() {
    const n = yield* arrived
    peak = Math.max(peak, memoryOf(child.pid!).peak)
    if (n > 0 && firstAt === 0) {
      firstAt = Date.now()
      firstCount = n
    }
    return n
  }).pipe(Effect.repeat({ schedule: Schedule.spaced("200 millis"), until: (n) => n >= RECORDS }), Effect.timeout(Duration.minutes(15)))
  const end = Date.now()
  peak = Math.max(peak, memoryOf(child.pid!).peak)
  child.kill("SIGTERM")
  const seconds = (end - start) / 1000
  const steady = (end - firstAt) / 1000
  const mb = (RECORDS * RECORD_BYTES) / (1024 * 1024)
  yield* Console.log([
    `replicated ${RECORDS} records (${mb.toFixed(0)} MiB of values) in ${seconds.toFixed(1)} s including start-up`,
    `  throughput: ${Math.round(RECORDS / seconds)} records/s, ${(mb / seconds).toFixed(1)} MiB/s`,
    `  after the first record arrived: ${Math.round((RECORDS - firstCount) / steady)} records/s, ${(((RECORDS - firstCount) * RECORD_BYTES) / (1024 * 1024) / steady).toFixed(1)} MiB/s`,
    `  replicator peak RSS: ${peak.toFixed(0)} MiB`,
    `  added round-trip time: ${RTT_MS ?? 0} ms${RTT_MS === undefined ? " (no proxy)" : ` (proxy on both clusters; ${primary.latency?.proxiedConnections() ?? 0} + ${backup.latency?.proxiedConnections() ?? 0} connections through it)`}`
  ].join("\n"))
  fs.rmSync(dir, { recursive: true, force: true })
}).pipe(Effect.scoped, Effect.provide(KafkaJsClient.layer))

NodeRuntime.runMain(main)
