/**
 * The Replicator service of an embedded replicator: every herder runs in a fiber of its own, so
 * the host can stop one flow while the others run on, and the whole is stopped at once when
 * the scope closes. Readiness and the replicator's end are derived from the task states.
 */
import { Clock, Deferred, Effect, FiberMap, Option, Ref, type Scope, Stream } from "effect"
import type { HerderSettings, Mm2Settings } from "./config/Mm2Config.js"
import { awaitCaughtUp } from "./CaughtUp.js"
import { type FlowFailure, FlowsFailed, runHerders } from "./herder/Herders.js"
import { TASKS } from "./herder/Tasks.js"
import type { KafkaClient } from "./kafka/KafkaClient.js"
import { NoSuchFlow, Replicator } from "./Replicator.js"
import { TaskRegistry } from "./supervision/TaskRegistry.js"
import { TaskState } from "./supervision/TaskState.js"

const STOPPED_BY_HOST = "stopped by the host (Replicator.stopFlow)"

const replicationTasks = (h: HerderSettings): number =>
  TASKS.filter((t) => t.kind === "replication" && t.enabled(h)).length

/** Starts every herder of `settings` in the background; they stop when the scope closes. */
export const make = (
  settings: Mm2Settings
): Effect.Effect<Replicator["Type"], never, KafkaClient | Scope.Scope> =>
  Effect.gen(function*() {
    // a registry per herder, as if each ran alone (what follows a registry sees each task once)
    const herders = yield* Effect.forEach(
      settings.herderPairs,
      (h) => Effect.map(TaskRegistry.make, (registry) => ({ h, flow: h.settings.name, registry }))
    )
    const flows = herders.map((x) => x.flow)
    const registries = new Map(herders.map((x) => [x.flow, x.registry]))
    const ended = yield* Deferred.make<void, FlowsFailed>()
    const failures = yield* Ref.make<ReadonlyArray<FlowFailure>>([])
    // replication tasks still running, per herder; the replicator ends when none is left
    const remaining = yield* Ref.make(new Map(herders.map((x) => [x.flow, replicationTasks(x.h)])))

    const settle = Effect.gen(function*() {
      const left = [...(yield* Ref.get(remaining)).values()].reduce((a, b) => a + b, 0)
      const total = herders.reduce((n, x) => n + replicationTasks(x.h), 0)
      // nothing to replicate at all (heartbeat-only): runs until the scope closes, as the CLI does
      if (left > 0 || total === 0) return
      const fs = yield* Ref.get(failures)
      yield* fs.length === 0 ? Deferred.succeed(ended, undefined) : Deferred.fail(ended, new FlowsFailed({ failures: fs }))
    })
    const replicationEnded = (flow: string, count: (left: number) => number) =>
      Effect.zipRight(Ref.update(remaining, (m) => new Map(m).set(flow, count(m.get(flow) ?? 0))), settle)

    /** sets each task of a herder not stopped fatally to Stopped with `reason` (why, rather than "with the process") */
    const markStopped = (registry: TaskRegistry["Type"], reason: string) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        for (const s of yield* registry.all) {
          if (s.state._tag === "Stopped" && s.state.fatal) continue
          yield* registry.update({ ...s, state: TaskState.Stopped({ since: now, reason, fatal: false }) })
        }
      })

    const ready = yield* Deferred.make<void, FlowsFailed>()
    // whoever still waits when the scope closes is interrupted, once every herder has stopped
    // (this finalizer runs after the FiberMap's, being added before it)
    yield* Effect.addFinalizer(() => Effect.zipRight(Deferred.interrupt(ended), Deferred.interrupt(ready)))

    // one fiber per herder; closing the map (with the scope) interrupts them all at once
    const running = yield* FiberMap.make<string>()
    for (const { flow, h, registry } of herders) {
      const onStopped = (f: FlowFailure) =>
        Effect.zipRight(Ref.update(failures, (fs) => [...fs, f]), replicationEnded(flow, (n) => n - 1))
      // failures reach onStopped; the herder's other duties run on, isolated as in the CLI
      yield* runHerders([h], onStopped, { untilInterrupted: true }).pipe(
        Effect.provideService(TaskRegistry, registry),
        FiberMap.run(running, flow)
      )
    }

    const stopFlow = (flow: string) =>
      Effect.gen(function*() {
        const registry = registries.get(flow)
        if (registry === undefined) return yield* new NoSuchFlow({ flow, flows })
        const fiber = yield* FiberMap.get(running, flow).pipe(Effect.option)
        if (Option.isNone(fiber)) return
        yield* Effect.logInfo(`stopping ${flow} (asked by the host)`)
        // FiberMap.remove interrupts and waits: its finalizers (final commit) have run after it
        yield* FiberMap.remove(running, flow)
        yield* markStopped(registry, STOPPED_BY_HOST)
        yield* replicationEnded(flow, () => 0)
      })

    // readiness of one flow: Running, then caught up; a flow stopped before is not waited for
    const replicationState = (registry: TaskRegistry["Type"]) =>
      registry.changes.pipe(
        Stream.map((all) => all.find((s) => s.kind === "replication")?.state),
        Stream.filter((s): s is TaskState => s !== undefined)
      )
    const readyOf = ({ flow, h, registry }: (typeof herders)[number]) => {
      const caughtUp = replicationState(registry).pipe(
        Stream.filter(TaskState.$is("Running")),
        Stream.runHead,
        Effect.zipRight(awaitCaughtUp(h.settings))
      )
      const stopped = replicationState(registry).pipe(
        Stream.filter(TaskState.$is("Stopped")),
        Stream.runHead,
        Effect.flatMap(Option.match({
          onNone: () => Effect.never,
          onSome: (s) => s.fatal ? new FlowsFailed({ failures: [{ flow, message: s.reason }] }) : Effect.void
        }))
      )
      return Effect.raceFirst(caughtUp, stopped)
    }
    yield* Effect.forEach(herders.filter((x) => replicationTasks(x.h) > 0), readyOf, { concurrency: "unbounded", discard: true }).pipe(
      Effect.intoDeferred(ready),
      Effect.forkScoped
    )

    return Replicator.of({
      flows,
      await: Deferred.await(ended),
      awaitReady: Deferred.await(ready),
      stopFlow,
      stoppedFlows: Ref.get(failures),
      tasks: Effect.map(Effect.forEach(herders, (x) => x.registry.all), (all) => all.flat()),
      taskChanges: herders.length === 0
        ? Stream.make([])
        : Stream.zipLatestAll(...herders.map((x) => x.registry.changes)).pipe(Stream.map((all) => all.flat()))
    })
  })
