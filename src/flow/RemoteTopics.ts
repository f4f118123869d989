/**
 * Topic discovery and remote-topic upkeep for one flow (MirrorSourceConnector's refresh):
 * which source topics to replicate, creating their remote topics on the target with the source
 * partition count, and growing remote topics whose source gained partitions. Unlike Java MM2,
 * creation is awaited before any record is written, so a target with auto-creation on never
 * gets a remote topic with default settings first.
 */
import { Context, Effect, Either, Layer } from "effect"
import { KafkaClient } from "../kafka/KafkaClient.js"
import { isReplicationFactorRefused, KafkaError } from "../kafka/KafkaError.js"
import { shouldReplicateTopic } from "../policy/TopicSelection.js"
import { FlowContext } from "./FlowContext.js"
import { awaitDecided, isLeading } from "../herder/Leadership.js"
import { creationConfigs } from "./TopicConfigs.js"

export interface ReplicatedTopic {
  readonly source: string
  readonly remote: string
  readonly partitions: number
  /** the source topic's id (a topic deleted and recreated gets a new one); undefined on clusters before Kafka 2.8 */
  readonly topicId: string | undefined
}

export class RemoteTopics extends Context.Tag("effect-mm2/RemoteTopics")<RemoteTopics, {
  /**
   * Discovers, creates and grows; returns the source topics to replicate, sorted by name. Only
   * the process that runs the flow's once-per-flow duties creates and grows (Leadership.ts); the
   * others leave out topics whose remote topic is not there yet, or smaller than its source.
   */
  readonly sync: Effect.Effect<ReadonlyArray<ReplicatedTopic>, KafkaError>
  /** the last sync left topics out, waiting for another process to create or grow them */
  readonly waiting: Effect.Effect<boolean>
}>() {
  static readonly make = Effect.gen(function*() {
    const ctx = yield* FlowContext
    const kafka = yield* KafkaClient
    const sourceAdmin = yield* kafka.admin(ctx.sourceAdmin)
    const targetAdmin = yield* kafka.admin(ctx.targetAdmin)
    const { policy, settings } = ctx
    // source topics whose remote topic the target refuses, reported once each (tried again every refresh)
    const refused = new Set<string>()
    // the source topics of the previous refresh: one that is gone was deleted, and is reported once
    let previous: ReadonlyArray<ReplicatedTopic> = []
    let waitingFor = 0

    const sync = Effect.gen(function*() {
      const listed = yield* sourceAdmin.listTopics
      const names = listed.filter((t) => shouldReplicateTopic(ctx.selection, t))
      const stillThere = new Set(listed)
      for (const gone of previous.filter((t) => !stillThere.has(t.source))) {
        yield* Effect.logWarning(
          `Source topic ${gone.source} of ${ctx.name} no longer exists (deleted); its remote topic ${gone.remote} on ` +
            `cluster '${settings.target}' is kept, as MM2 keeps it, with everything replicated so far.`
        )
      }
      const sources = yield* sourceAdmin.describeTopics(names)
      const ids = yield* sourceAdmin.topicIds(names)
      const targetNames = new Set(yield* targetAdmin.listTopics)
      const wanted = sources
        .map((t) => ({
          source: t.name,
          remote: policy.formatRemoteTopic(settings.source, t.name),
          partitions: t.partitions,
          topicId: ids.get(t.name)
        }))
        .sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0))

      yield* awaitDecided
      if (!(yield* isLeading)) return yield* followerView(wanted, targetNames)
      waitingFor = 0
      const missing = wanted.filter((t) => !targetNames.has(t.remote))
      // a remote topic starts with its source's configs (spec 7.5); the config sync task keeps them in line
      const sourceConfigs = yield* sourceAdmin.describeTopicConfigs(missing.map((t) => t.source))
      const skipped = new Set<string>()
      // one request per topic: a topic the broker refuses (e.g. a remote name past Kafka's 249
      // characters) is skipped, and the others replicate
      for (const t of missing) {
        const result = yield* Effect.either(targetAdmin.createTopics([{
          name: t.remote,
          partitions: t.partitions,
          replicationFactor: settings.replicationFactor,
          configs: creationConfigs(sourceConfigs.get(t.source) ?? [], ctx.configFilter)
        }]))
        if (Either.isRight(result)) {
          if (result.right.includes(t.remote)) {
            yield* Effect.logInfo(`Created remote topic ${t.remote} with ${t.partitions} partitions.`)
          }
          if (refused.delete(t.source)) yield* Effect.logInfo(`Topic ${t.source} is replicated again: its remote topic ${t.remote} exists now.`)
          continue
        }
        if (isReplicationFactorRefused(result.left)) {
          return yield* new KafkaError({
            ...result.left,
            detail: `${result.left.detail}; set ${ctx.name}.replication.factor (or replication.factor for every flow, ` +
              `default 2) to at most the number of brokers of cluster '${settings.target}', or -1 for its default`
          })
        }
        if (result.left.reason !== "TopicRejected") return yield* Effect.fail(result.left)
        skipped.add(t.source)
        if (!refused.has(t.source)) {
          refused.add(t.source)
          yield* Effect.logError(
            `Not replicating topic ${t.source}: cluster '${settings.target}' refused to create its remote topic ${t.remote} ` +
              `(${result.left.detail}); the other topics replicate, and creation is tried again at every refresh.`
          )
        }
      }

      // partition counts only ever grow (MM2 never shrinks or deletes remote topics)
      const existing = wanted.filter((t) => targetNames.has(t.remote))
      const remoteCounts = new Map((yield* targetAdmin.describeTopics(existing.map((t) => t.remote))).map((d) => [d.name, d.partitions]))
      const grow = existing.filter((t) => (remoteCounts.get(t.remote) ?? t.partitions) < t.partitions)
      if (grow.length > 0) {
        yield* targetAdmin.createPartitions(grow.map((t) => ({ topic: t.remote, count: t.partitions })))
        for (const t of grow) {
          yield* Effect.logInfo(`Increased partitions of ${t.remote} from ${remoteCounts.get(t.remote)} to ${t.partitions}.`)
        }
      }
      previous = wanted
      return skipped.size === 0 ? wanted : wanted.filter((t) => !skipped.has(t.source))
    }).pipe(
      Effect.tap((topics) => Effect.annotateCurrentSpan("mm2.topics", topics.length)),
      // a root span per refresh: a trace ends with its round
      Effect.withSpan("mm2.refreshTopics", { root: true, attributes: { flow: ctx.name } })
    )

    /** What a process that does not hold the duties replicates: the topics the holder has put in place. */
    const followerView = (wanted: ReadonlyArray<ReplicatedTopic>, targetNames: ReadonlySet<string>) =>
      Effect.gen(function*() {
        const existing = wanted.filter((t) => targetNames.has(t.remote))
        const remoteCounts = new Map((yield* targetAdmin.describeTopics(existing.map((t) => t.remote))).map((d) => [d.name, d.partitions]))
        const ready = existing.filter((t) => (remoteCounts.get(t.remote) ?? 0) >= t.partitions)
        const waiting = wanted.length - ready.length
        if (waiting !== waitingFor) {
          yield* Effect.logInfo(
            waiting === 0
              ? `${ctx.name}: every remote topic is in place`
              : `${ctx.name}: waiting for the process that runs the flow's duties to create or grow ${waiting} remote topics`
          )
        }
        waitingFor = waiting
        previous = wanted
        return ready
      })

    return { sync, waiting: Effect.sync(() => waitingFor > 0) }
  })

  static readonly layer = Layer.scoped(RemoteTopics, RemoteTopics.make)
}
