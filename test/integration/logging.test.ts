/**
 * The log as an operator reads it, from `node dist/main.js` on a real replication: one line per
 * entry starting with an ISO date-time with its zone (annotations on that line, never on lines
 * of their own), ERROR on stderr and the rest on stdout, MM2's start-up and shutdown lines, and
 * `--log-format json` with one JSON object per line; embedded, the stop lines once per replicator.
 */
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { inject } from "vitest"
import { createTopic, eventually, flowProps, produce, uniqueId, waitForCount, writeProps } from "./support/kafka.js"
import { type Mm2Process, REPO_ROOT, spawnMm2, spawnNode } from "./support/process.js"
import { rec } from "./support/records.js"

const RECORDS = 50

const lines = (s: string): ReadonlyArray<string> => s.split("\n").filter((l) => l.length > 0)

/** `2026-12-02T01:23:45.678Z LEVEL ` (toISOString: always UTC, always with its `Z`) */
const HEAD = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) /

/** A topic with records and a replicator started on it, as the CLI runs it. */
const replicating = (
  args: (file: string) => ReadonlyArray<string>,
  extra: (source: string) => Readonly<Record<string, string>> = () => ({})
) =>
  Effect.gen(function*() {
    const primary = inject("primaryBootstrap")
    const backup = inject("backupBootstrap")
    const id = uniqueId()
    const [source, target, topic] = [`lp${id}`, `lb${id}`, `logs${id}`]
    yield* createTopic(primary, topic, 2)
    yield* produce(primary, topic, 0, Array.from({ length: RECORDS }, (_, i) => rec({ key: `k${i}`, value: `v${i}` })))
    const file = yield* writeProps(flowProps({
      source,
      target,
      sourceBootstrap: primary,
      targetBootstrap: backup,
      topics: topic,
      extra: extra(source)
    }))
    const mm2 = yield* spawnMm2(args(file))
    return { mm2, file, source, target, topic, backup, remote: `${source}.${topic}` }
  })

const waitForOutput = (mm2: Mm2Process, what: string, seen: () => boolean) =>
  eventually(() => `${what}\n${mm2.tail()}`, Effect.sync(seen), (ok) => ok, { timeout: "90 seconds" })

/** SIGTERM, then a clean exit. */
const stop = (mm2: Mm2Process) =>
  Effect.gen(function*() {
    yield* mm2.kill("SIGTERM")
    const status = yield* mm2.waitExit("90 seconds", "effect-mm2 after SIGTERM")
    expect(status.code, mm2.tail()).toBe(0)
  })

/** Index of the first line containing `text` at or after `from`; fails the test if there is none. */
const indexOf = (all: ReadonlyArray<string>, text: string, from: number, tail: string): number => {
  const i = all.findIndex((l, k) => k >= from && l.includes(text))
  expect(i, `"${text}" after line ${from}\n${tail}`).toBeGreaterThanOrEqual(0)
  return i
}

describe("logs (node dist/main.js)", () => {
  it.scopedLive("text: one dated line per entry, annotations on it, MM2's start-up and shutdown lines in order", () =>
    Effect.gen(function*() {
      const { backup, file, mm2, remote, source, target, topic } = yield* replicating((file) => [file])
      yield* waitForCount(backup, remote, RECORDS)
      yield* waitForOutput(mm2, "Kafka MirrorMaker started", () => mm2.stdout().includes("Kafka MirrorMaker started"))
      yield* stop(mm2)
      const out = lines(mm2.stdout())
      for (const l of out) {
        expect(l, "every stdout line starts with the date, time and zone, then the level").toMatch(HEAD)
        expect(HEAD.exec(l)?.[2], "no ERROR on stdout").not.toMatch(/ERROR|FATAL/)
      }
      // stderr holds only ERROR lines (there should be none in this run)
      for (const l of lines(mm2.stderr())) expect(l).toMatch(/^\S+Z (ERROR|FATAL) /)
      // the times are now, and in order
      const times = out.map((l) => Date.parse(HEAD.exec(l)![1]!))
      expect(Math.abs(times[0]! - Date.now()), "the date is today's").toBeLessThan(5 * 60_000)
      expect([...times].sort((a, b) => a - b)).toEqual(times)
      // the flow's annotations are on the line itself
      const flow = `${source}->${target}`
      expect(out.some((l) => l.includes(`[${flow} replication] `)), mm2.tail()).toBe(true)
      const tail = mm2.tail(80)
      let at = indexOf(out, `Kafka MirrorMaker initializing with ${file}`, 0, tail)
      // MM2 also runs a heartbeats-only herder the other way (emit.heartbeats defaults)
      at = indexOf(out, `Targeting clusters [${target}, ${source}]`, at + 1, tail)
      at = indexOf(out, `Starting with 1 enabled replication flows: [${flow}]`, at + 1, tail)
      at = indexOf(out, `Kafka MirrorMaker starting with 2 herders: [${flow}, ${target}->${source}]`, at + 1, tail)
      const started = indexOf(out, `flow ${flow} started (took `, at + 1, tail)
      indexOf(out, `${flow} replicating 1 topics: ${topic}`, at + 1, tail)
      at = indexOf(out, "Kafka MirrorMaker started: ", started + 1, tail)
      expect(out[at]).toMatch(/Kafka MirrorMaker started: \d+ tasks of 2 herders running \(took /)
      at = indexOf(out, "SIGTERM received: stopping", at + 1, tail)
      at = indexOf(out, "Kafka MirrorMaker stopping", at + 1, tail)
      at = indexOf(out, "Kafka MirrorMaker stopped (took ", at + 1, tail)
      expect(at, "the stop line is the last").toBe(out.length - 1)
    }), 180_000)

  it.scopedLive("text: an ERROR goes to stderr, dated, and the stop after it is logged", () =>
    Effect.gen(function*() {
      // `none` with no progress: the replication task stops at start, fatally (one ERROR), and
      // as it is the only one the process stops
      const { mm2, source, target } = yield* replicating(
        (file) => [file],
        (source) => ({ [`${source}.consumer.auto.offset.reset`]: "none" })
      )
      const status = yield* mm2.waitExit("90 seconds", "effect-mm2 whose only flow stops")
      expect(status.code, mm2.tail()).toBe(1)
      const flow = `${source}->${target}`
      const err = lines(mm2.stderr())
      const logged = err.filter((l) => HEAD.test(l))
      expect(logged.length, mm2.tail()).toBeGreaterThan(0)
      for (const l of logged) expect(HEAD.exec(l)?.[2]).toMatch(/ERROR|FATAL/)
      expect(logged.some((l) => l.includes(`[${flow} replication] flow ${flow} stopped: `)), mm2.tail()).toBe(true)
      // the rest of stderr is main.ts's own summary of why the process ended
      for (const l of err.filter((l) => !HEAD.test(l))) expect(l).toMatch(/^effect-mm2: /)
      const out = lines(mm2.stdout())
      for (const l of out) expect(HEAD.exec(l)?.[2], l).toMatch(/TRACE|DEBUG|INFO|WARN/)
      const tail = mm2.tail(80)
      const at = indexOf(out, "Kafka MirrorMaker stopping: every replication flow stopped", 0, tail)
      indexOf(out, "Kafka MirrorMaker stopped (took ", at + 1, tail)
    }), 180_000)

  it.scopedLive("--log-format json (anywhere on the line): every line is one JSON object", () =>
    Effect.gen(function*() {
      const { backup, mm2, remote, source, target } = yield* replicating((file) => [file, "--log-level", "debug", "--log-format", "json"])
      yield* waitForCount(backup, remote, RECORDS)
      yield* waitForOutput(mm2, "Kafka MirrorMaker started", () => mm2.stdout().includes("Kafka MirrorMaker started"))
      yield* stop(mm2)
      const entries = [...lines(mm2.stdout()), ...lines(mm2.stderr())].map((l) => {
        let parsed: unknown
        expect(() => (parsed = JSON.parse(l)), l).not.toThrow()
        return parsed as Record<string, unknown>
      })
      expect(entries.length).toBeGreaterThan(10)
      for (const e of entries) {
        expect(typeof e["timestamp"] === "string" && HEAD.test(`${e["timestamp"]} INFO  `), JSON.stringify(e)).toBe(true)
        expect(e["level"]).toMatch(/^(TRACE|DEBUG|INFO|WARN|ERROR|FATAL)$/)
        expect(typeof e["message"]).toBe("string")
        expect(typeof e["annotations"]).toBe("object")
        expect(e["fiber"]).toMatch(/^#\d+$/)
      }
      const flow = `${source}->${target}`
      const started = entries.find((e) => e["message"] === `flow ${flow} started` || String(e["message"]).startsWith(`flow ${flow} started`))
      expect(started?.["annotations"], mm2.tail()).toEqual({ herder: flow, task: "replication" })
      // --log-level debug took effect as well
      expect(entries.some((e) => e["level"] === "DEBUG"), mm2.tail()).toBe(true)
      expect(entries.some((e) => String(e["message"]).startsWith("Kafka MirrorMaker stopped (took ")), mm2.tail()).toBe(true)
    }), 180_000)

  it.scopedLive("embedded as a Layer: the stop lines once for the whole replicator when the host closes its scope", () =>
    Effect.gen(function*() {
      const host = path.join(REPO_ROOT, "test", "integration", "fixtures", "embedded-host.mjs")
      const { backup, mm2: cli, remote } = yield* replicating((file) => [file])
      yield* waitForCount(backup, remote, RECORDS)
      yield* stop(cli)
      // the same file again, embedded: the host's own logger (Effect's default), closing after 4 s
      const file = /Kafka MirrorMaker initializing with (\S+)/.exec(cli.stdout())![1]!
      const embedded = yield* spawnNode(host, [file, "4000"])
      const status = yield* embedded.waitExit("90 seconds", "the embedding host")
      expect(status.code, embedded.tail()).toBe(0)
      const out = lines(embedded.stdout())
      const count = (text: string) => out.filter((l) => l.includes(text)).length
      expect(count("Kafka MirrorMaker initializing with "), embedded.tail()).toBe(1)
      expect(count("Kafka MirrorMaker stopping"), embedded.tail()).toBe(1)
      expect(count("Kafka MirrorMaker stopped (took "), embedded.tail()).toBe(1)
      const stopping = out.findIndex((l) => l.includes("Kafka MirrorMaker stopping"))
      const stopped = out.findIndex((l) => l.includes("Kafka MirrorMaker stopped (took "))
      expect(stopping).toBeLessThan(stopped)
      expect(stopped, embedded.tail()).toBeLessThan(out.indexOf("scope closed"))
    }), 180_000)
})
