/**
 * Scale-out on real brokers: three `node dist/main.js` processes with one mm2.properties share a
 * flow through its progress group while a producer keeps writing; one of them (the one holding
 * the once-per-flow duties, when the logs say which) is killed with SIGKILL mid-stream and a
 * fourth is added. Then:
 *  - nothing is lost and each target partition holds its source partition in order (first
 *    occurrences 0, 1, 2, ...; every duplicate run replays an earlier contiguous range);
 *  - duplicates are counted, printed, and bounded by what the killed process had written but not
 *    committed: a clean rebalance (the fourth joining, the start-up joins) adds none;
 *  - heartbeats and checkpoints come from one process at a time: no more heartbeats than one
 *    holder writes (plus one per handover), holdings that never overlap, checkpoints that never
 *    go backwards;
 *  - no process logs an ERROR.
 * `MM2_IT_MAIN_JS=<path>/dist/main.js` runs another build (e.g. of an older commit, to compare);
 * `MM2_IT_SCALE_OUT_LOGS=<dir>` keeps each process's output there.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { Effect, Fiber } from "effect"
import { inject } from "vitest"
import { decreases } from "./support/drills.js"
import {
  adminClient,
  createTopic,
  eventually,
  flowProps,
  progressGroup,
  readAll,
  sum,
  toEndOffsets,
  uniqueId,
  writeProps
} from "./support/kafka.js"
import { MAIN_JS, type Mm2Process, spawnNode } from "./support/process.js"
import {
  analyse,
  checkpointsIn,
  dutyEvents,
  heartbeatsIn,
  type Holding,
  holdings,
  holdsDuties,
  liveProducer,
  overlaps,
  sampleEnds,
  stalls
} from "./support/scaleOut.js"

const PARTITIONS = 6
/** per partition: 30,000 records waiting when the processes start */
const BACKLOG = 5_000
/** per partition every TICK_MS: about 1,400 records/s in all */
const PER_TICK = 60
const TICK_MS = 250
/** long enough that the kill, the fourth process and both rebalances fall inside it */
const PRODUCE_FOR_MS = 28_000
const HEARTBEAT_INTERVAL_S = 1
/** stderr lines that are expected (none so far) */
const EXPECTED_ERRORS: ReadonlyArray<RegExp> = []

const mainJs = process.env["MM2_IT_MAIN_JS"] ?? MAIN_JS
const keepLogsIn = process.env["MM2_IT_SCALE_OUT_LOGS"]

interface Member {
  readonly name: string
  readonly proc: Mm2Process
  readonly startedAt: number
  /** when it was killed or seen to exit */
  end: number | undefined
}

describe("scale-out", () => {
  it.scopedLive("3 processes, one SIGKILLed mid-stream, a 4th added: nothing lost, order kept, duplicates bounded, duties once", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [p, b] = [`p${id}`, `b${id}`]
      const flow = `${p}->${b}`
      const topic = `scale${id}`
      const remote = `${p}.${topic}`
      const group = progressGroup(p, b)
      const app = `app-${id}`

      yield* createTopic(primary, topic, PARTITIONS)
      const file = yield* writeProps(flowProps({
        source: p,
        target: b,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: topic,
        extra: {
          "replication.factor": "1",
          [`emit.heartbeats.interval.seconds`]: String(HEARTBEAT_INTERVAL_S),
          "emit.checkpoints.interval.seconds": "1",
          "sync.group.offsets.enabled": "true",
          "sync.group.offsets.interval.seconds": "1",
          // a second of written-but-uncommitted records per partition: what a kill replays
          [`${b}.offset.flush.interval.ms`]: "1000"
        }
      }))
      const sourceAdmin = yield* adminClient(primary)
      const targetAdmin = yield* adminClient(backup)
      const targetEnds = Effect.map(targetAdmin.fetchTopicOffsets(remote), toEndOffsets)
      const committed = Effect.map(sourceAdmin.fetchGroupOffsets(group, [topic]), (ps) => {
        const out = Array.from({ length: PARTITIONS }, () => -1)
        for (const o of ps) if (o.topic === topic) out[o.partition] = Number(o.offset)
        return out
      })

      const sampler = yield* sampleEnds(backup, remote, 250)
      const producer = yield* liveProducer(primary, topic, PARTITIONS, { backlog: BACKLOG, perTick: PER_TICK, every: TICK_MS })
      const producingSince = Date.now()

      const members: Array<Member> = []
      const start = (name: string) =>
        Effect.map(spawnNode(mainJs, ["--config", file]), (proc) => {
          const m: Member = { name, proc, startedAt: Date.now(), end: undefined }
          members.push(m)
          return m
        })
      if (keepLogsIn !== undefined) {
        yield* Effect.addFinalizer(() =>
          Effect.tryPromise(async () => {
            await fsp.mkdir(keepLogsIn, { recursive: true })
            for (const m of members) {
              await fsp.writeFile(path.join(keepLogsIn, `${m.name}.out`), m.proc.stdout())
              await fsp.writeFile(path.join(keepLogsIn, `${m.name}.err`), m.proc.stderr())
            }
          }).pipe(Effect.ignore)
        )
      }
      const tails = () => members.map((m) => `=== ${m.name} (pid ${m.proc.pid})\n${m.proc.tail(15)}`).join("\n")
      const noneExited = (except: ReadonlyArray<Member>) => {
        const gone = members.filter((m) => !except.includes(m) && m.proc.hasExited())
        return gone.length === 0 ? Effect.void : Effect.fail(new Error(`${gone.map((m) => m.name).join(", ")} exited\n${tails()}`))
      }

      // a group of the test's own, committed on the source every second (never beyond what is
      // replicated: the progress group's position), so checkpoints are emitted throughout
      const appCommits = [-1, -1]
      const committer = yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        yield* Effect.sleep("1 second")
        const progress = yield* committed
        const moves = [0, 1].flatMap((partition) =>
          progress[partition]! > appCommits[partition]! ? [{ topic, partition, offset: String(progress[partition]) }] : []
        )
        if (moves.length > 0) {
          yield* sourceAdmin.commitGroupOffsets(app, moves)
          for (const m of moves) appCommits[m.partition] = Number(m.offset)
        }
      }).pipe(Effect.ignore)))

      const runStart = Date.now()
      for (const name of ["A", "B", "C"]) yield* start(name)

      // the kill falls while all three replicate: the group is stable with three members
      yield* eventually(
        () => `three members in ${group} and records on the target\n${tails()}`,
        Effect.gen(function*() {
          yield* noneExited([])
          const [d] = yield* sourceAdmin.describeGroups([group])
          const last = sampler.samples().at(-1)
          return { state: d?.state, members: d?.members, replicated: sum(last?.ends ?? []) }
        }),
        (s) => s.state === "Stable" && s.members === 3 && s.replicated > 0,
        { timeout: "60 seconds", interval: "250 millis" }
      )
      // the duty holder, when the processes say which (a build without an election never does)
      const holder = yield* eventually(
        "a process holding the once-per-flow duties",
        Effect.sync(() => members.findIndex((m) => holdsDuties(m.proc.stdout(), flow))),
        (i) => i >= 0,
        { timeout: "10 seconds", interval: "250 millis" }
      ).pipe(Effect.orElseSucceed(() => -1))
      // let every member replicate for a moment, so the victim has written what it did not commit
      yield* Effect.sleep("2 seconds")
      yield* noneExited([])

      const victim = members[Math.max(holder, 0)]!
      const killedAt = Date.now()
      yield* victim.proc.kill("SIGKILL")
      const killedExit = yield* victim.proc.waitExit("30 seconds", `${victim.name} after SIGKILL`)
      victim.end = killedAt
      // Snapshots right after the kill. The killed process's partitions keep their committed
      // offsets until another process takes them over (a session timeout later); what it wrote
      // past them is what may be written again. The live processes keep writing and committing
      // meanwhile, so the committed offsets are taken between two target snapshots: the bound
      // uses the target before, plus what was written between the two as tolerance.
      const targetBefore = yield* targetEnds
      const committedAtKill = yield* committed
      const targetAfter = yield* targetEnds
      const producedAtKill = producer.produced()

      yield* Effect.sleep("4 seconds")
      yield* noneExited([victim])
      const fourth = yield* start("D")
      const fourthAt = fourth.startedAt

      yield* Effect.sleep(Math.max(0, producingSince + PRODUCE_FOR_MS - Date.now()))
      const produced = yield* producer.stop
      const producerStoppedAt = Date.now()
      const sourceEnds = toEndOffsets(yield* sourceAdmin.fetchTopicOffsets(topic))
      expect(sourceEnds, "seq == source offset: nothing else was written to the source").toEqual(produced)
      const total = sum(produced)

      // every source record written and committed
      yield* eventually(
        () => `${group} to reach the source end offsets ${JSON.stringify(sourceEnds)}\n${tails()}`,
        Effect.zipRight(noneExited([victim]), committed),
        (c) => c.every((o, i) => o === sourceEnds[i]),
        { timeout: "120 seconds", interval: "500 millis" }
      )
      const caughtUpAt = Date.now()

      // SIGTERM the others at once; each one's end is when its exit is seen
      const live = members.filter((m) => m !== victim)
      for (const m of live) yield* m.proc.kill("SIGTERM")
      const exits = yield* Effect.forEach(live, (m) =>
        Effect.map(m.proc.waitExit("90 seconds", `${m.name} after SIGTERM`), (exit) => {
          m.end = Date.now()
          return exit
        }), { concurrency: "unbounded" })
      const runEnd = Math.max(...members.map((m) => m.end ?? Date.now()))
      yield* Fiber.interrupt(committer)

      // ---- what the target holds --------------------------------------------------------------
      const finalEnds = yield* targetEnds
      const copied = yield* readAll(backup, remote, sum(finalEnds), "120 seconds")
      const analyses = Array.from({ length: PARTITIONS }, (_, partition) => analyse(partition, copied[partition] ?? []))
      const missing = produced.map((count, partition) => {
        const present = new Set((copied[partition] ?? []).map((r) => r.value?.toString("utf8")))
        let n = 0
        for (let seq = 0; seq < count; seq++) if (!present.has(`${partition}:${seq}`)) n++
        return n
      })
      const duplicates = analyses.map((a) => a.duplicates)
      // written but not committed at the kill, per partition: last seq on the target + 1 - committed
      const uncommittedAtKill = analyses.map((a, partition) =>
        Math.max(0, a.frontierAt(targetBefore[partition] ?? 0) - Math.max(0, committedAtKill[partition]!))
      )
      const writtenBetweenSnapshots = sum(targetAfter.map((e, partition) => e - (targetBefore[partition] ?? 0)))
      const bound = sum(uncommittedAtKill) + writtenBetweenSnapshots
      // the same, run by run: a replay may only repeat what the killed process wrote past its
      // committed offset (up to the target after the snapshots); any other run comes from a
      // rebalance that was not clean (a start-up join, the fourth process, the takeover)
      const foreignRuns = analyses.flatMap((a, partition) =>
        a.runs.filter((r) => r.fromSeq < Math.max(0, committedAtKill[partition]!) || r.toSeq >= a.frontierAt(targetAfter[partition] ?? 0))
          .map((r) =>
            `partition ${partition}: offsets ${r.fromOffset}..${r.toOffset} repeat seqs ${r.fromSeq}..${r.toSeq}, outside the kill's ` +
            `${Math.max(0, committedAtKill[partition]!)}..${a.frontierAt(targetAfter[partition] ?? 0) - 1}`
          )
      )

      // ---- duties -------------------------------------------------------------------------------
      const events = members.map((m) => dutyEvents(m.proc.stdout(), flow))
      const held = members.map((m, i) => holdings(m.name, events[i]!, m.end ?? runEnd))
      const intervals: Array<Holding> = held.flatMap((h) => h.intervals)
      const takeovers = sum(events.map((es) => es.filter((e) => e.kind === "takes").length))
      const handovers = Math.max(0, takeovers - 1)
      const heartbeats = yield* heartbeatsIn(backup, p, b)
      const runSeconds = (runEnd - runStart) / 1_000
      const heartbeatLimit = Math.floor(runSeconds / HEARTBEAT_INTERVAL_S) + handovers + 2
      const perSecond = new Map<number, number>()
      for (const t of heartbeats) perSecond.set(Math.floor(t / 1_000), (perSecond.get(Math.floor(t / 1_000)) ?? 0) + 1)
      const crowdedSeconds = [...perSecond.values()].filter((n) => n > 1).length

      const checkpoints = (yield* checkpointsIn(backup, p)).filter((c) => c.group === app)
      const checkpointProblems = [0, 1].flatMap((partition) => {
        const mine = checkpoints.filter((c) => c.partition === partition)
        const down = decreases(mine.map((c) => c.downstream))
        const up = decreases(mine.map((c) => c.upstream))
        return [
          ...down.map((i) => `partition ${partition}: downstream ${mine[i - 1]!.downstream} -> ${mine[i]!.downstream} (upstream ${mine[i - 1]!.upstream} -> ${mine[i]!.upstream})`),
          ...up.map((i) => `partition ${partition}: upstream ${mine[i - 1]!.upstream} -> ${mine[i]!.upstream}`)
        ]
      })

      const errors = members.flatMap((m) =>
        m.proc.stderr().split("\n").filter((l) => l.trim().length > 0 && !EXPECTED_ERRORS.some((r) => r.test(l))).map((l) => `${m.name}: ${l}`)
      )

      // ---- report -------------------------------------------------------------------------------
      const afterKill = stalls(sampler.samples(), PARTITIONS, killedAt, producerStoppedAt)
      const afterFourth = stalls(sampler.samples(), PARTITIONS, fourthAt, producerStoppedAt)
      const s = (ms: number | undefined) => (ms === undefined ? "never" : `${(ms / 1000).toFixed(1)}s`)
      const at = (t: number) => `+${((t - runStart) / 1000).toFixed(1)}s`
      console.log([
        `[scale-out] ${mainJs}`,
        `[scale-out] source ${total} records (${BACKLOG * PARTITIONS} backlog), produced ${JSON.stringify(produced)}; ` +
        `killed ${victim.name}${holder >= 0 ? " (the duty holder)" : " (no process said it held the duties)"} at ${at(killedAt)} ` +
        `(${JSON.stringify(killedExit)}), produced then ${sum(producedAtKill)}; 4th at ${at(fourthAt)}; producer stopped at ${at(producerStoppedAt)}; ` +
        `all committed at ${at(caughtUpAt)}; run ${runSeconds.toFixed(1)} s`,
        `[scale-out] target ${sum(finalEnds)} records, ${sum(duplicates)} duplicates (${(100 * sum(duplicates) / Math.max(1, sum(finalEnds))).toFixed(1)}% of the target), ` +
        `${sum(missing)} missing; bound ${bound} = uncommitted at kill ${sum(uncommittedAtKill)} + written between snapshots ${writtenBetweenSnapshots}`,
        ...analyses.map((a, i) =>
          `[scale-out]   partition ${i}: ${copied[i]?.length ?? 0} records, ${a.duplicates} duplicates, ${missing[i]} missing; at kill: ` +
          `committed ${committedAtKill[i]}, target ${targetBefore[i]}..${targetAfter[i]} (last seq + 1 = ${a.frontierAt(targetBefore[i] ?? 0)}), ` +
          `uncommitted ${uncommittedAtKill[i]}; first growth after kill ${s(afterKill[i]!.resumedAfterMs)}, longest stall after kill ` +
          `${s(afterKill[i]!.longestMs)}, after the 4th ${s(afterFourth[i]!.longestMs)}; runs: ` +
          (a.runs.map((r) => `offsets ${r.fromOffset}..${r.toOffset} = seqs ${r.fromSeq}..${r.toSeq} (frontier ${r.frontier})`).join(", ") || "none")
        ),
        `[scale-out] heartbeats ${heartbeats.length} (limit ${heartbeatLimit} = ${Math.floor(runSeconds)} s / ${HEARTBEAT_INTERVAL_S} s + ${handovers} handovers + 2), ` +
        `${crowdedSeconds} seconds with more than one; takeovers ${takeovers}; at ${heartbeats.map(at).join(" ")}`,
        ...members.map((m, i) =>
          `[scale-out]   ${m.name} (pid ${m.proc.pid}, started ${at(m.startedAt)}, ended ${m.end === undefined ? "?" : at(m.end)}): ` +
          (events[i]!.map((e) => `${e.kind} ${at(e.at)}`).join(", ") || "no duty lines")
        ),
        `[scale-out] checkpoints of ${app}: ${checkpoints.length}, problems: ${checkpointProblems.length}; ` +
        `its last commits on the source: partition 0 at ${appCommits[0]}, partition 1 at ${appCommits[1]}`,
        `[scale-out] stderr lines: ${errors.length}`,
        ...errors.slice(0, 30).map((e) => `[scale-out]   ${e}`)
      ].join("\n"))

      // ---- assertions ---------------------------------------------------------------------------
      expect(exits, "SIGTERM stops each remaining process cleanly").toEqual(live.map(() => ({ code: 0, signal: null })))
      // 1. nothing lost
      expect.soft(missing, "source records missing on the target, per partition").toEqual(produced.map(() => 0))
      // 2. order of first occurrences, duplicates only as contiguous replays
      for (const [i, a] of analyses.entries()) {
        expect.soft(a.problems, `partition ${i} of ${remote}`).toEqual([])
        expect.soft(a.distinct, `first occurrences in partition ${i}`).toBe(produced[i])
      }
      // 3. duplicates: only what the killed process wrote but had not committed
      expect.soft(sum(duplicates), `duplicates (per partition ${JSON.stringify(duplicates)}) within the kill's replay bound`)
        .toBeLessThanOrEqual(bound)
      expect.soft(foreignRuns, "duplicate runs that are not the killed process's uncommitted records").toEqual([])
      // 4. heartbeats from one holder at a time
      expect.soft(heartbeats.length, `heartbeats of ${flow} in a ${runSeconds.toFixed(1)} s run`).toBeLessThanOrEqual(heartbeatLimit)
      expect.soft(takeovers, "some process took the once-per-flow duties").toBeGreaterThan(0)
      expect.soft(held.flatMap((h) => h.problems), "duty lines of each process").toEqual([])
      expect.soft(
        overlaps(intervals).map(([x, y]) => `${x.process} ${at(x.from)}..${at(x.to)} and ${y.process} ${at(y.from)}..${at(y.to)}`),
        "two processes holding the duties at once"
      ).toEqual([])
      // 5. checkpoints never go backwards
      expect.soft(checkpoints.length, `checkpoints of ${app}`).toBeGreaterThan(0)
      expect.soft(checkpointProblems, "checkpoint regressions").toEqual([])
      // 6. no ERROR
      expect.soft(errors, "stderr of the processes").toEqual([])
    }), 240_000)
})
