/**
 * `npm run demo`: two local Kafka clusters, sample traffic on `primary`, replication to `backup`,
 * and a live per-topic view of what arrived. Ctrl-C stops replication (drained and committed),
 * then both brokers, and deletes their data.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Duration, Effect, Either, Schedule } from "effect"
import * as fs from "node:fs"
import * as Mm2 from "../src/Mm2.js"
import * as Mm2Config from "../src/config/Mm2Config.js"
import { connectionSettings, producerSettings } from "../src/kafka/ClientSettings.js"
import { KafkaClient } from "../src/kafka/KafkaClient.js"
import * as KafkaJsClient from "../src/kafka/KafkaJsClient.js"
import { TestClusters } from "../harness/index.js"

const TOPICS = ["orders", "payments", "inventory"] as const
const PARTITIONS = 3
const FILE = "mm2.demo.properties"

export const demoProperties = (primary: string, backup: string) =>
  `# written by npm run demo; the same file works with Java MirrorMaker 2
clusters = primary, backup
primary.bootstrap.servers = ${primary}
backup.bootstrap.servers = ${backup}

primary->backup.enabled = true
primary->backup.topics = orders, payments, inventory

# single-broker demo clusters
replication.factor = 1
heartbeats.topic.replication.factor = 1
offset-syncs.topic.replication.factor = 1
checkpoints.topic.replication.factor = 1
refresh.topics.interval.seconds = 10
backup.offset.flush.interval.ms = 1000
`

const conn = (alias: string, bootstrap: string) =>
  connectionSettings(alias, new Map([["bootstrap.servers", bootstrap]]), "effect-mm2-demo").pipe(Either.getOrThrow)

/** A few records per second per topic, keyed, with a header, to every partition. */
const traffic = (bootstrap: string) =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    const admin = yield* kafka.admin(conn("primary", bootstrap))
    yield* admin.createTopics(TOPICS.map((name) => ({ name, partitions: PARTITIONS, replicationFactor: 1 })))
    const producer = yield* kafka.producer(conn("primary", bootstrap), Either.getOrThrow(producerSettings("primary", new Map())))
    let n = 0
    yield* Effect.suspend(() => {
      const writes = TOPICS.flatMap((topic) =>
        Array.from({ length: PARTITIONS }, (_, partition) => ({
          topic,
          partition,
          records: Array.from({ length: 20 }, () => {
            n++
            return {
              key: Buffer.from(`${topic}-${n % 100}`),
              value: Buffer.from(JSON.stringify({ id: n, topic, at: new Date().toISOString() })),
              headers: [{ key: "source", value: Buffer.from("demo") }],
              timestamp: String(Date.now())
            }
          })
        }))
      )
      return producer.send(writes)
    }).pipe(Effect.repeat(Schedule.spaced("500 millis")))
  })

const report = (primary: string, backup: string) =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    const source = yield* kafka.admin(conn("primary", primary))
    const target = yield* kafka.admin(conn("backup", backup))
    const sum = (ps: ReadonlyArray<{ high: string; low: string }>) => ps.reduce((n, p) => n + Number(p.high) - Number(p.low), 0)
    yield* Effect.gen(function*() {
      const lines: Array<string> = []
      for (const topic of TOPICS) {
        const produced = sum(yield* source.fetchTopicOffsets(topic))
        const remote = `primary.${topic}`
        const arrived = yield* target.fetchTopicOffsets(remote).pipe(Effect.map(sum), Effect.orElseSucceed(() => 0))
        lines.push(`  ${remote.padEnd(20)} ${String(arrived).padStart(8)} records   lag ${produced - arrived}`)
      }
      yield* Console.log(`backup @ ${new Date().toLocaleTimeString()}\n${lines.join("\n")}`)
    }).pipe(Effect.catchAll((e) => Console.log(`(waiting: ${e.message})`)), Effect.repeat(Schedule.spaced("2 seconds")))
  })

const main = Effect.gen(function*() {
  yield* Console.log("Starting two local Kafka clusters (primary, backup)...")
  const { primary, backup } = yield* TestClusters.makePair()
  yield* Console.log(`Kafka ${primary.version}: primary ${primary.bootstrapServers}, backup ${backup.bootstrapServers}`)
  fs.writeFileSync(FILE, demoProperties(primary.bootstrapServers, backup.bootstrapServers))
  yield* Console.log(`Wrote ${FILE} (the same run: node dist/main.js --config ${FILE}). Ctrl-C to stop.\n`)
  const settings = yield* Mm2Config.load(FILE)
  yield* Effect.forkScoped(traffic(primary.bootstrapServers))
  yield* Effect.forkScoped(report(primary.bootstrapServers, backup.bootstrapServers))
  yield* Effect.sleep(Duration.millis(500))
  return yield* Mm2.run(settings)
}).pipe(
  Effect.scoped,
  Effect.provide(KafkaJsClient.layer),
  Effect.ensuring(Console.log("\nStopped replication and both clusters; demo data deleted."))
)

NodeRuntime.runMain(main)
