/**
 * `npm run bench:checkpoints`: what one checkpoint round costs with many consumer groups on the
 * source. Fills a 6-partition topic, commits offsets for SCALE_GROUPS groups on the source, runs
 * `node dist/main.js --log-level debug --config <file>` (a separate process, so its memory is
 * measured alone; @effect/cli takes `--log-level` only before `--config`) and reads the
 * checkpoint task's round lines (`<flow>: checkpoint round: G groups, C checkpoints,
 * R admin requests to <source>, T ms`): rounds where nothing moved, then a round after every
 * group moved.
 *
 * Options (environment): SCALE_GROUPS (10000), KAFKA_VERSION, SCALE_LOG (a file to write the child's output to).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Duration, Effect, Either, Schedule } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as readline from "node:readline"
import { connectionSettings, producerSettings } from "../src/kafka/ClientSettings.js"
import { type KafkaAdmin, KafkaClient } from "../src/kafka/KafkaClient.js"
import * as KafkaJsClient from "../src/kafka/KafkaJsClient.js"
import { findRepoRoot, TestClusters } from "../harness/index.js"

const env = (k: string, d: number) => (process.env[k] === undefined ? d : Number(process.env[k]))
const GROUPS = env("SCALE_GROUPS", 10_000)
const PARTITIONS = 6
const PER_PARTITION = 10_000
const RECORDS = PARTITIONS * PER_PARTITION
const TOPIC = "orders"
const INTERVAL_SECONDS = 10

const conn = (alias: string, bootstrap: string) =>
  connectionSettings(alias, new Map([["bootstrap.servers", bootstrap]]), "effect-mm2-checkpoint-scale").pipe(Either.getOrThrow)

const groupId = (i: number) => `scale-group-${String(i).padStart(5, "0")}`
const offsetOf = (i: number, p: number, bump: number) => ((i * 7 + p * 13) % PER_PARTITION) + bump

const fill = (admin: KafkaAdmin, bootstrap: string) =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    yield* admin.createTopics([{ name: TOPIC, partitions: PARTITIONS, replicationFactor: 1 }])
    const producer = yield* kafka.producer(conn("primary", bootstrap), Either.getOrThrow(producerSettings("primary", new Map())))
    const value = Buffer.alloc(32, 0x61)
    const perRequest = 5_000
    for (let partition = 0; partition < PARTITIONS; partition++) {
      for (let written = 0; written < PER_PARTITION; written += perRequest) {
        const n = Math.min(perRequest, PER_PARTITION - written)
        const records = Array.from({ length: n }, (_, i) => ({
          key: Buffer.from(`${partition}-${written + i}`),
          value,
          headers: [],
          timestamp: String(Date.now())
        }))
        yield* producer.send([{ topic: TOPIC, partition, records }])
      }
    }
  }).pipe(Effect.scoped)

/** commits that failed and were retried (commitGroupOffsets does not retry by itself) */
const retried = new Map<string, number>()

/**
 * commits offsets of every partition for every group, one request per group. On a fresh cluster
 * the first commits create `__consumer_offsets` and its coordinators are still loading
 * (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS), so a failed commit is retried here.
 */
const commitAll = (admin: KafkaAdmin, bump: number) =>
  Effect.forEach(
    Array.from({ length: GROUPS }, (_, i) => i),
    (i) =>
      admin.commitGroupOffsets(
        groupId(i),
        Array.from({ length: PARTITIONS }, (_, p) => ({ topic: TOPIC, partition: p, offset: String(offsetOf(i, p, bump)) }))
      ).pipe(
        Effect.tapError((e) =>
          Effect.sync(() => {
            const why = e.message.replace(/^.*failed: /, "")
            retried.set(why, (retried.get(why) ?? 0) + 1)
          })
        ),
        Effect.retry({ schedule: Schedule.spaced("250 millis"), times: 40 })
      ),
    { concurrency: 32, discard: true }
  )

const retriedSummary = () =>
  retried.size === 0 ? "none" : [...retried].map(([why, n]) => `${n} x "${why}"`).join(", ")

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

interface Round {
  readonly at: number
  readonly groups: number
  readonly checkpoints: number
  readonly requests: number
  readonly ms: number
  /** the child's VmRSS when the line was read, MiB */
  readonly rss: number
  readonly line: string
}

const ROUND = /checkpoint round: (\d+) groups, (\d+) checkpoints, (\d+) admin requests to (\S+), (\d+) ms/

/** SIGTERM, then SIGKILL if it has not exited within `ms` */
const stopChild = (child: ChildProcess, ms: number) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
    }, ms)
    child.once("exit", () => {
      clearTimeout(timer)
      resume(Effect.void)
    })
    child.kill("SIGTERM")
  })

const main = Effect.gen(function*() {
  const root = yield* findRepoRoot()
  const { primary, backup } = yield* TestClusters.makePair()
  const kafka = yield* KafkaClient
  const source = yield* kafka.admin(conn("primary", primary.bootstrapServers))
  const target = yield* kafka.admin(conn("backup", backup.bootstrapServers))

  yield* Console.log(`Kafka ${primary.version}; writing ${RECORDS} records to ${TOPIC} (${PARTITIONS} partitions)...`)
  let t0 = Date.now()
  yield* fill(source, primary.bootstrapServers)
  yield* Console.log(`records written in ${((Date.now() - t0) / 1000).toFixed(1)} s`)

  yield* Console.log(`committing offsets of ${PARTITIONS} partitions for ${GROUPS} groups (one request per group, 32 at a time)...`)
  t0 = Date.now()
  const requestsBefore = yield* source.requests
  yield* commitAll(source, 0)
  const commitSeconds = (Date.now() - t0) / 1000
  yield* Console.log(
    `groups committed in ${commitSeconds.toFixed(1)} s (${(yield* source.requests) - requestsBefore} admin requests; retried: ${retriedSummary()})`
  )
  retried.clear()
  const listed = (yield* source.listGroups).filter((g) => g.startsWith("scale-group-")).length
  yield* Console.log(`source lists ${listed} of our groups`)

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mm2-checkpoint-scale-"))
  yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
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
    `emit.checkpoints.interval.seconds = ${INTERVAL_SECONDS}`,
    "refresh.groups.interval.seconds = 600",
    "sync.group.offsets.enabled = false",
    ""
  ].join("\n"))

  const sum = (topic: string) =>
    target.fetchTopicOffsets(topic).pipe(
      Effect.map((ps) => ps.reduce((n, p) => n + Number(p.high), 0)),
      Effect.orElseSucceed(() => 0)
    )

  // the child, its output and its round lines
  const lines: Array<string> = []
  const rounds: Array<Round> = []
  const started = Date.now()
  const child = yield* Effect.acquireRelease(
    Effect.sync(() =>
      spawn(process.execPath, [path.join(root, "dist", "main.js"), "--log-level", "debug", "--config", file], {
        stdio: ["ignore", "pipe", "pipe"]
      })
    ),
    (c) => stopChild(c, 70_000)
  )
  let exited: string | undefined
  child.once("exit", (code, signal) => {
    exited = `exit code ${code}, signal ${signal}`
  })
  const onLine = (line: string) => {
    lines.push(line)
    const m = ROUND.exec(line)
    if (m !== null) {
      const rss = memoryOf(child.pid!).rss
      rounds.push({ at: Date.now(), groups: Number(m[1]), checkpoints: Number(m[2]), requests: Number(m[3]), ms: Number(m[5]), rss, line })
    }
  }
  readline.createInterface({ input: child.stdout! }).on("line", onLine)
  readline.createInterface({ input: child.stderr! }).on("line", onLine)

  let peak = 0
  const sample = Effect.sync(() => {
    peak = Math.max(peak, memoryOf(child.pid!).peak)
  })
  const alive = Effect.suspend(() =>
    exited === undefined ? Effect.void : Effect.fail(new Error(`the replicator stopped (${exited}); last lines:\n${lines.slice(-30).join("\n")}`))
  )
  const waitFor = (what: string, done: Effect.Effect<boolean>, timeout: Duration.DurationInput) =>
    Effect.zipRight(sample, alive).pipe(
      Effect.zipRight(done),
      Effect.repeat({ schedule: Schedule.spaced("500 millis"), until: (b) => b }),
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () => new Error(`timed out waiting for ${what}; last lines:\n${lines.slice(-30).join("\n")}`)
      })
    )

  const full = (r: Round) => r.groups === GROUPS
  yield* waitFor("replication of all records", Effect.map(sum(`primary.${TOPIC}`), (n) => n >= RECORDS), Duration.minutes(10))
  const replicatedRss = memoryOf(child.pid!)
  yield* Console.log(
    `replicated ${RECORDS} records in ${((Date.now() - started) / 1000).toFixed(1)} s including start-up ` +
      `(replicator RSS ${replicatedRss.rss.toFixed(0)} MiB, peak ${replicatedRss.peak.toFixed(0)} MiB, ${rounds.length} checkpoint rounds so far)`
  )
  yield* waitFor(
    `3 checkpoint rounds with ${GROUPS} groups`,
    Effect.sync(() => rounds.filter(full).length >= 3),
    Duration.minutes(10)
  )
  const steadyRounds = rounds.length

  yield* Console.log(`every group moves: committing offsets + 1 for ${GROUPS} groups...`)
  const movedFrom = Date.now()
  yield* commitAll(source, 1)
  const movedAt = Date.now()
  yield* Console.log(`groups committed again in ${((movedAt - movedFrom) / 1000).toFixed(1)} s (retried: ${retriedSummary()})`)
  // a round that started after the commits finished (a line logged later than it took)
  const cleanAfterMove = (r: Round) => r.at - r.ms >= movedAt
  yield* waitFor(
    "a checkpoint round after every group moved",
    Effect.sync(() => rounds.some((r) => full(r) && cleanAfterMove(r))),
    Duration.minutes(10)
  )
  yield* sample

  const checkpoints = yield* sum("primary.checkpoints.internal")
  const groupsOnTarget = (yield* target.listGroups).filter((g) => g.startsWith("scale-group-")).length

  const describe = (r: Round, i: number) => {
    const phase = r.at < movedFrom ? "before move" : cleanAfterMove(r) ? "after move" : "during move"
    return `  round ${String(i + 1).padStart(2)} (${phase.padEnd(11)}, +${((r.at - started) / 1000).toFixed(1).padStart(6)} s): ` +
      `${r.groups} groups, ${r.checkpoints} checkpoints written, ${r.requests} admin requests, ${r.ms} ms, RSS then ${r.rss.toFixed(0)} MiB`
  }
  // the child's log lines look like `2026-12-02T01:02:03.456Z LEVEL [herder task] message`; its own errors start with `effect-mm2:`
  const warnings = lines.filter((l) => /^\S+Z (WARN |ERROR|FATAL)/.test(l) || l.startsWith("effect-mm2:"))
  yield* Console.log([
    "",
    "summary",
    `  groups: ${GROUPS}, partitions per group: ${PARTITIONS}, records: ${RECORDS}, interval: ${INTERVAL_SECONDS} s`,
    `  committing offsets for all groups on the source (one request per group): ${commitSeconds.toFixed(1)} s`,
    `  checkpoint rounds logged (${steadyRounds} before the move):`,
    ...rounds.map(describe),
    `  records in primary.checkpoints.internal on backup (sum of end offsets): ${checkpoints}`,
    `  scale groups on backup: ${groupsOnTarget} (sync.group.offsets.enabled = false)`,
    `  replicator peak RSS: ${peak.toFixed(0)} MiB`,
    `  replicator WARN/ERROR lines: ${warnings.length}`,
    ...warnings.slice(0, 20).map((l) => `    ${l}`)
  ].join("\n"))
  if (process.env["SCALE_LOG"] !== undefined) fs.writeFileSync(process.env["SCALE_LOG"], lines.join("\n") + "\n")
}).pipe(Effect.scoped, Effect.provide(KafkaJsClient.layer))

NodeRuntime.runMain(main)
