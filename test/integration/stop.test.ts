/**
 * Stopping at any moment: the replicator is stopped 20 times at random moments from start-up to
 * steady state, alternately by closing an embedding host's scope and by SIGTERM to the CLI.
 * Each time the process must exit by itself (a socket or timer left behind would keep it alive)
 * and the progress it committed must be exactly what the target acknowledged: per partition,
 * the committed next offset equals the records in the remote partition (no record written
 * without its progress, no progress without its record).
 */
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { inject } from "vitest"
import {
  createTopic,
  endOffsets,
  flowProps,
  groupOffsets,
  listTopics,
  produceWrites,
  progressGroup,
  uniqueId,
  writeProps
} from "./support/kafka.js"
import { REPO_ROOT, spawnMm2, spawnNode } from "./support/process.js"
import { BASE_TIMESTAMP, rec } from "./support/records.js"

const HOST = path.join(REPO_ROOT, "test", "integration", "fixtures", "embedded-host.mjs")
const PARTITIONS = 3
const TRIES = 20
const PER_PARTITION = 20_000

/** deterministic "random" delays (ms), spread over start-up (~0-1 s) and steady state */
const delays = Array.from({ length: TRIES }, (_, i) => (i * 733 + 97) % 2_400)

describe("stopping at any moment", () => {
  it.scopedLive(`${TRIES} stops at random moments: the process exits by itself and commits exactly what the target has`, () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const topic = `stop${id}`
      yield* createTopic(primary, topic, PARTITIONS)
      // many source batches per partition, so stops fall between acknowledgements
      for (let from = 0; from < PER_PARTITION; from += 2_000) {
        yield* produceWrites(
          primary,
          Array.from({ length: PARTITIONS }, (_, partition) => ({
            topic,
            partition,
            records: Array.from({ length: 2_000 }, (_, i) =>
              rec({ key: `k${from + i}`, value: `${partition}:${from + i}:${"v".repeat(200)}`, timestamp: BASE_TIMESTAMP + i }))
          })),
          "lz4"
        )
      }

      const outcomes: Array<string> = []
      for (let i = 0; i < TRIES; i++) {
        // a fresh source alias each time: a new remote topic and a new progress group
        const [source, target] = [`p${i}x${id}`, `b${id}`]
        const file = yield* writeProps(flowProps({
          source,
          target,
          sourceBootstrap: primary,
          targetBootstrap: backup,
          topics: topic,
          // small fetches, so the queue holds a small part of the backlog and stops in steady
          // state fall mid-backlog (a stop writes what was fetched, then commits)
          extra: {
            [`${target}.producer.max.request.size`]: "65536",
            [`${source}.consumer.max.partition.fetch.bytes`]: "65536"
          }
        }))
        const embedded = i % 2 === 0
        let tail = ""
        let diedBeforeStart = false
        const what = `${embedded ? "embedded scope closed" : "SIGTERM"} after ${delays[i]} ms (try ${i + 1})`
        if (embedded) {
          const host = yield* spawnNode(HOST, [file, String(delays[i])])
          const status = yield* host.waitExit("90 seconds", `the embedding host, ${what}`)
          expect(status.code, `${what}\n${host.tail()}`).toBe(0)
          expect(host.stdout(), what).toContain("scope closed")
          tail = host.tail(12)
        } else {
          const cli = yield* spawnMm2([file])
          yield* Effect.sleep(delays[i]!)
          yield* cli.kill("SIGTERM")
          const status = yield* cli.waitExit("90 seconds", `the CLI, ${what}`)
          tail = cli.tail(12)
          // A SIGTERM in Node's own first milliseconds, before any of our code runs, ends the
          // process by signal: allowed only if it had done nothing yet (checked below).
          diedBeforeStart = status.signal === "SIGTERM" && cli.stdout() === ""
          if (!diedBeforeStart) expect(status.code, `${what}\n${cli.tail()}`).toBe(0)
        }
        const remote = `${source}.${topic}`
        const written = (yield* listTopics(backup)).includes(remote) ? yield* endOffsets(backup, remote) : [0, 0, 0]
        const committed = (yield* groupOffsets(primary, progressGroup(source, target), topic)).map((o) => Math.max(o, 0))
        expect(committed, `${what}: committed progress vs records on the target\n${tail}`).toEqual(written)
        if (diedBeforeStart) expect(written, `${what}: killed before start, yet records were written`).toEqual([0, 0, 0])
        outcomes.push(`${what}: ${written.reduce((a, b) => a + b, 0)} records${diedBeforeStart ? " (killed before start)" : ""}`)
      }
      // the tries covered both a stop before anything was written and one mid-backlog
      console.log(`[stop] ${outcomes.join("; ")}`)
    }), 600_000)
})
