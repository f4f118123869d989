/**
 * Crash and restart of the real CLI process: `kill -9` in the middle of a large backlog, then a
 * second process resumes from the committed progress. At-least-once: every source record reaches
 * the target partition it came from, first occurrences in source order (duplicates of what was
 * written but not yet committed before the kill are allowed). SIGTERM then stops cleanly (exit 0)
 * with the progress group at the source end offsets.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { inject } from "vitest"
import {
  adminClient,
  createTopic,
  endOffsets,
  eventually,
  flowProps,
  groupOffsets,
  type OutRecord,
  produceWrites,
  progressGroup,
  readAll,
  sum,
  toEndOffsets,
  uniqueId,
  writeProps
} from "./support/kafka.js"
import { spawnMm2 } from "./support/process.js"
import { BASE_TIMESTAMP, rec } from "./support/records.js"

const PARTITIONS = 3
const PER_PARTITION = 20_000
const TOTAL = PARTITIONS * PER_PARTITION
const FILLER = "x".repeat(100)

/** value `<partition>:<index>:<filler>`: where it must land and where it must come in order */
const record = (partition: number, index: number): OutRecord =>
  rec({ key: `k${index % 1000}`, value: `${partition}:${index}:${FILLER}`, timestamp: BASE_TIMESTAMP + index })

const parse = (value: Buffer | null): { partition: number; index: number } | undefined => {
  if (value === null) return undefined
  const [p, i] = value.toString("utf8").split(":")
  const partition = Number(p)
  const index = Number(i)
  return Number.isInteger(partition) && Number.isInteger(index) ? { partition, index } : undefined
}

describe("restart of the CLI process", () => {
  it.scopedLive("kill -9 mid-backlog, restart: nothing lost, order kept; SIGTERM exits 0 with progress at the end", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [source, target] = [`p${id}`, `b${id}`]
      const prefix = `rst${id}`
      const topic = `${prefix}-backlog`
      const remote = `${source}.${topic}`
      const group = progressGroup(source, target)

      yield* createTopic(primary, topic, PARTITIONS)
      // in requests of 1,000 records per partition: 20 source batches per partition, so progress
      // (committed per acknowledged batch) can advance before a partition is done; written in one
      // request, a partition is one 2.6 MB batch and the kill could never fall between commits
      for (let from = 0; from < PER_PARTITION; from += 1_000) {
        yield* produceWrites(
          primary,
          Array.from({ length: PARTITIONS }, (_, partition) => ({
            topic,
            partition,
            records: Array.from({ length: 1_000 }, (_, i) => record(partition, from + i))
          })),
          "lz4"
        )
      }
      const sourceEnds = yield* endOffsets(primary, topic)
      expect(sourceEnds).toEqual([PER_PARTITION, PER_PARTITION, PER_PARTITION])

      const file = yield* writeProps(flowProps({
        source,
        target,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: `${prefix}.*`,
        extra: {
          // many small produce requests: the backlog takes long enough to be caught half-way
          [`${target}.producer.max.request.size`]: "4096"
        }
      }))

      // first process: killed with SIGKILL once it committed some progress, before it is done
      const first = yield* spawnMm2(["--config", file])
      const sourceAdmin = yield* adminClient(primary)
      const targetAdmin = yield* adminClient(backup)
      const progress = Effect.gen(function*() {
        const committed = (yield* sourceAdmin.fetchGroupOffsets(group, [topic])).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0)
        const names = yield* targetAdmin.listTopics
        const replicated = names.includes(remote) ? sum(toEndOffsets(yield* targetAdmin.fetchTopicOffsets(remote))) : 0
        if (first.hasExited()) return yield* Effect.fail(new Error(`the first process exited\n${first.tail()}`))
        return { committed, replicated }
      })
      const atKill = yield* eventually(
        () => `the first process to commit progress\n${first.tail()}`,
        progress,
        (p) => p.committed > 0 || p.replicated >= TOTAL,
        { timeout: "60 seconds", interval: "20 millis" }
      )
      yield* first.kill("SIGKILL")
      const firstExit = yield* first.waitExit("30 seconds", "first process after SIGKILL")
      expect(firstExit.signal).toBe("SIGKILL")
      expect(atKill.replicated, "the kill must come before everything was replicated").toBeLessThan(TOTAL)
      const committedAtKill = yield* groupOffsets(primary, group, topic)
      expect(sum(committedAtKill.map((o) => Math.max(0, o)))).toBeGreaterThan(0)

      // second process: resumes from the committed progress
      const second = yield* spawnMm2(["--config", file])
      yield* eventually(
        () => `progress group ${group} to reach the source end offsets ${JSON.stringify(sourceEnds)}\n${second.tail()}`,
        Effect.flatMap(groupOffsets(primary, group, topic), (offsets) =>
          second.hasExited() ? Effect.fail(new Error(`the second process exited\n${second.tail()}`)) : Effect.succeed(offsets)),
        (offsets) => JSON.stringify(offsets) === JSON.stringify(sourceEnds),
        { timeout: "150 seconds", interval: "500 millis" }
      )
      yield* second.kill("SIGTERM")
      const secondExit = yield* second.waitExit("90 seconds", "second process after SIGTERM")
      expect(secondExit, second.tail()).toEqual({ code: 0, signal: null })
      expect(yield* groupOffsets(primary, group, topic)).toEqual(sourceEnds)

      // everything on the target, in order of first occurrence, each in its source partition
      const targetEnds = yield* endOffsets(backup, remote)
      const copied = yield* readAll(backup, remote, sum(targetEnds), "120 seconds")
      expect(copied.length).toBe(PARTITIONS)
      for (let p = 0; p < PARTITIONS; p++) {
        let next = 0
        const problems: Array<string> = []
        for (const r of copied[p]!) {
          const v = parse(r.value)
          if (v === undefined || v.partition !== p) {
            if (problems.length < 5) problems.push(`offset ${r.offset}: unexpected value ${r.value?.toString("utf8").slice(0, 30)}`)
            continue
          }
          if (v.index === next) next++
          else if (v.index > next && problems.length < 5) {
            problems.push(`offset ${r.offset}: index ${v.index} before the first occurrence of ${next}`)
          }
        }
        expect(problems, `partition ${p} of ${remote}`).toEqual([])
        expect(next, `first occurrences in partition ${p}`).toBe(PER_PARTITION)
      }
      console.log(
        `[restart] killed at ${atKill.replicated}/${TOTAL} replicated (committed ${JSON.stringify(committedAtKill)}); ` +
          `target holds ${sum(targetEnds)} records (${sum(targetEnds) - TOTAL} duplicates)`
      )
    }), 240_000)
})
