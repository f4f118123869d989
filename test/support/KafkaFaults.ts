/**
 * Fault injection for the in-memory KafkaClient (InMemoryKafkaClient.ts): a test arms a fault on
 * one cluster and operation (optionally one topic), and the next matching calls fail with the
 * KafkaError it describes, `times` times or until cleared.
 */
import { Effect, Ref } from "effect"
import { KafkaError, type KafkaErrorReason } from "../../src/kafka/KafkaError.js"

/**
 * The operations a fault can target, named as KafkaJsClient names them in KafkaError.operation.
 * `consume` is a consumer crash: its fetch loop stops and `crashed` fails.
 */
export type FaultOperation =
  | "connect admin"
  | "list topics"
  | "describe topics"
  | "create topic"
  | "create partitions"
  | "fetch topic offsets"
  | "fetch topic ids"
  | "delete records"
  | "list groups"
  | "fetch group offsets"
  | "fetch offsets of groups"
  | "delete topics"
  | "commit group offsets"
  | "describe topic configs"
  | "alter topic configs"
  | "connect producer"
  | "produce"
  | "connect consumer"
  | "consume"
  | "commit offsets"

export interface FaultSpec {
  /** the cluster alias (ConnectionSettings.cluster) */
  readonly cluster: string
  readonly operation: FaultOperation
  /** only calls concerning this topic fail (a send with a write to it, a consumer subscribed to it); absent = any call */
  readonly topic?: string
  readonly reason: KafkaErrorReason
  readonly retriable: boolean
  /** how many matching calls fail; absent = every one until cleared */
  readonly times?: number
}

export interface Fault {
  /** how many calls this fault failed so far */
  readonly hits: Effect.Effect<number>
  /** disarms it (what it already failed stays failed) */
  readonly clear: Effect.Effect<void>
}

export interface KafkaFaults {
  readonly inject: (spec: FaultSpec) => Effect.Effect<Fault>
  readonly clearAll: Effect.Effect<void>
  /** for the client: fails with the first armed fault matching this call, and uses one of its `times` */
  readonly check: (cluster: string, operation: FaultOperation, topics: ReadonlyArray<string>) => Effect.Effect<void, KafkaError>
}

interface Armed {
  readonly id: number
  readonly spec: FaultSpec
  /** undefined = unlimited */
  readonly remaining: number | undefined
  readonly hits: number
  readonly cleared: boolean
}

const matches = (a: Armed, cluster: string, operation: FaultOperation, topics: ReadonlyArray<string>): boolean =>
  !a.cleared && (a.remaining === undefined || a.remaining > 0) && a.spec.cluster === cluster &&
  a.spec.operation === operation && (a.spec.topic === undefined || topics.includes(a.spec.topic))

export const make: Effect.Effect<KafkaFaults> = Effect.gen(function*() {
  // disarmed faults stay listed so their hits remain readable
  const armed = yield* Ref.make<ReadonlyArray<Armed>>([])
  const ids = yield* Ref.make(0)
  const update = (id: number, f: (a: Armed) => Armed) => Ref.update(armed, (as) => as.map((a) => (a.id === id ? f(a) : a)))

  const inject = (spec: FaultSpec) =>
    Effect.gen(function*() {
      const id = yield* Ref.getAndUpdate(ids, (n) => n + 1)
      yield* Ref.update(armed, (as) => [...as, { id, spec, remaining: spec.times, hits: 0, cleared: false }])
      return {
        hits: Effect.map(Ref.get(armed), (as) => as.find((a) => a.id === id)?.hits ?? 0),
        clear: update(id, (a) => ({ ...a, cleared: true }))
      } satisfies Fault
    })

  const check = (cluster: string, operation: FaultOperation, topics: ReadonlyArray<string>) =>
    Effect.flatMap(
      Ref.modify(armed, (as): readonly [FaultSpec | undefined, ReadonlyArray<Armed>] => {
        const hit = as.find((a) => matches(a, cluster, operation, topics))
        if (hit === undefined) return [undefined, as]
        const used = { ...hit, hits: hit.hits + 1, remaining: hit.remaining === undefined ? undefined : hit.remaining - 1 }
        return [hit.spec, as.map((a) => (a.id === hit.id ? used : a))]
      }),
      (spec) => {
        if (spec === undefined) return Effect.void
        const topic = spec.topic ?? topics[0]
        return Effect.fail(
          new KafkaError({
            cluster,
            operation,
            reason: spec.reason,
            retriable: spec.retriable,
            detail: `injected fault (${spec.reason}${spec.retriable ? ", retriable" : ""})`,
            ...(topic !== undefined ? { topic } : {})
          })
        )
      }
    )

  return {
    inject,
    clearAll: Ref.update(armed, (as) => as.map((a) => ({ ...a, cleared: true }))),
    check
  } satisfies KafkaFaults
})
