/**
 * A process that does not hold a flow's once-per-flow duties (another process was chosen) never
 * creates remote topics: it replicates a topic once the holder has created it, also with
 * `refresh.topics.enabled = false` (it keeps looking until the topics it started with are in
 * place). The real Mm2.runWith on the in-memory KafkaClient, driven by the TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, TestClock } from "effect"
import * as Mm2 from "../../../src/Mm2.js"
import { TaskRegistry } from "../../../src/supervision/TaskRegistry.js"
import { InMemoryKafka } from "../../support/InMemoryKafkaClient.js"
import { settingsOf } from "../config/helpers.js"

const SETTINGS = settingsOf(`
clusters = primary, backup
primary.bootstrap.servers = primary:9092
backup.bootstrap.servers = backup:9092
primary->backup.enabled = true
topics = orders
refresh.topics.enabled = false
backup.offset.flush.interval.ms = 100
emit.heartbeats.enabled = false
emit.checkpoints.enabled = false
sync.topic.configs.enabled = false
sync.topic.acls.enabled = false
offset-syncs.topic.replication.factor = 1
replication.factor = 1
`)

const PARTITIONS = 2

describe("a process that does not hold the duties", () => {
  it.scoped("creates no remote topic, and replicates once the holder created it (refresh.topics.enabled = false)", () =>
    Effect.gen(function*() {
      const kafka = yield* InMemoryKafka
      yield* kafka.setChosen(false)
      yield* kafka.createTopic("primary", "orders", PARTITIONS)
      for (let partition = 0; partition < PARTITIONS; partition++) {
        yield* kafka.append("primary", {
          topic: "orders",
          partition,
          records: Array.from({ length: 10 }, (_, i) => ({ key: null, value: Buffer.from(`${partition}:${i}`), headers: [], timestamp: "1700000000000" }))
        })
      }
      const lines: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
      })
      const registry = yield* TaskRegistry.make
      yield* Mm2.runWith(SETTINGS).pipe(
        Effect.provideService(TaskRegistry, registry),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        Effect.forkScoped
      )
      for (let i = 0; i < 100; i++) yield* TestClock.adjust("100 millis")
      expect(yield* kafka.topics("backup")).not.toContain("primary.orders")
      expect(lines.some((l) => l.includes("waiting for the process that runs the flow's duties to create or grow 1 remote topics"))).toBe(true)

      // the holder (another process) creates it
      yield* kafka.createTopic("backup", "primary.orders", PARTITIONS)
      const copied = Effect.map(kafka.records("backup", "primary.orders"), (ps) => ps.map((rs) => rs.length))
      for (let i = 0; i < 300 && (yield* copied).some((n) => n < 10); i++) yield* TestClock.adjust("100 millis")
      expect(yield* copied).toEqual([10, 10])
      expect(lines.some((l) => l.includes("every remote topic is in place"))).toBe(true)
      expect(lines.filter((l) => l.startsWith("ERROR"))).toEqual([])
    }).pipe(Effect.provide(InMemoryKafka.layer)))
})
