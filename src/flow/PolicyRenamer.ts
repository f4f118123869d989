/**
 * Maps fetched source batches onto their remote topics. Names are memoised per topic, so the
 * per-batch cost is one map lookup and nothing is done per record.
 */
import { Context, Effect, Layer } from "effect"
import type { FetchedBatch, PartitionWrite } from "../kafka/KafkaRecord.js"
import { FlowContext } from "./FlowContext.js"

export class PolicyRenamer extends Context.Tag("effect-mm2/PolicyRenamer")<PolicyRenamer, {
  readonly remoteTopic: (sourceTopic: string) => string
  /** same partition, same records, remote topic name */
  readonly rename: (batch: FetchedBatch) => PartitionWrite
}>() {
  static readonly make = Effect.gen(function*() {
    const { policy, settings } = yield* FlowContext
    const names = new Map<string, string>()
    const remoteTopic = (sourceTopic: string): string => {
      let remote = names.get(sourceTopic)
      if (remote === undefined) {
        remote = policy.formatRemoteTopic(settings.source, sourceTopic)
        names.set(sourceTopic, remote)
      }
      return remote
    }
    return {
      remoteTopic,
      rename: (batch: FetchedBatch): PartitionWrite => ({
        topic: remoteTopic(batch.topic),
        partition: batch.partition,
        records: batch.records
      })
    }
  })

  static readonly layer = Layer.effect(PolicyRenamer, PolicyRenamer.make)
}
