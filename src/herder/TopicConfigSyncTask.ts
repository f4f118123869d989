/**
 * MirrorSourceConnector's topic config sync (spec 7.7) as a duty of its own: at start and then
 * every `sync.topic.configs.interval.seconds`, each replicated topic's configs are copied to its
 * remote topic (TopicConfigs.ts says which), with Kafka's IncrementalAlterConfigs so settings
 * made on the target alone are never wiped. A changed retention or cleanup policy on the source
 * reaches the remote topic; an edit of a synced config on the target is reverted.
 *
 * Only changes are written, and each is logged at INFO. A topic the target refuses (a config it
 * does not know, a policy) is reported once at WARN until it syncs again; the others go on.
 */
import { Effect } from "effect"
import { FlowContext } from "../flow/FlowContext.js"
import { describeOperations, syncOperations } from "../flow/TopicConfigs.js"
import { KafkaClient } from "../kafka/KafkaClient.js"
import { shouldReplicateTopic } from "../policy/TopicSelection.js"
import type { HerderTask } from "./HerderTask.js"
import { everyInterval } from "./Periodic.js"

export const TopicConfigSyncTask: HerderTask = {
  name: "topic-configs",
  kind: "metadata",
  once: true,
  enabled: (h) => h.replicationEnabled && h.settings.syncTopicConfigsEnabled && h.settings.syncTopicConfigsIntervalSeconds >= 0,
  label: (h) => `topic config sync of ${h.settings.name}`,
  run: (h, healthy) =>
    Effect.gen(function*() {
      const ctx = yield* FlowContext.make(h.settings)
      const kafka = yield* KafkaClient
      const sourceAdmin = yield* kafka.admin(ctx.sourceAdmin)
      const targetAdmin = yield* kafka.admin(ctx.targetAdmin)
      const refused = new Map<string, string>()

      const round = Effect.gen(function*() {
        const started = Date.now()
        const names = (yield* sourceAdmin.listTopics).filter((t) => shouldReplicateTopic(ctx.selection, t))
        const remoteNames = new Set(yield* targetAdmin.listTopics)
        // topics whose remote topic exists (the replication task creates the others, with their configs)
        const pairs = names
          .map((source) => ({ source, remote: ctx.policy.formatRemoteTopic(h.source, source) }))
          .filter((p) => remoteNames.has(p.remote))
        if (pairs.length === 0) return
        const [sourceConfigs, targetConfigs] = yield* Effect.all([
          sourceAdmin.describeTopicConfigs(pairs.map((p) => p.source)),
          targetAdmin.describeTopicConfigs(pairs.map((p) => p.remote))
        ], { concurrency: 2 })
        const alterations = pairs.flatMap((p) => {
          const operations = syncOperations(sourceConfigs.get(p.source) ?? [], targetConfigs.get(p.remote) ?? [], ctx.configFilter)
          return operations.length === 0 ? [] : [{ topic: p.remote, operations }]
        })
        const failures = new Map((yield* targetAdmin.alterTopicConfigs(alterations)).map((f) => [f.topic, f.detail]))
        for (const a of alterations) {
          const failed = failures.get(a.topic)
          if (failed === undefined) {
            refused.delete(a.topic)
            yield* Effect.logInfo(`Synced configs of remote topic ${a.topic} from ${ctx.settings.source}: ${describeOperations(a.operations)}`)
          } else if (refused.get(a.topic) !== failed) {
            refused.set(a.topic, failed)
            yield* Effect.logWarning(
              `Could not sync configs of remote topic ${a.topic} (${describeOperations(a.operations)}): cluster '${h.target}' refused: ${failed}; ` +
                `tried again every sync.topic.configs.interval.seconds`
            )
          }
        }
        yield* Effect.logDebug(
          `topic config sync of ${ctx.name}: ${pairs.length} topics, ${alterations.length} changed, ${Date.now() - started} ms`
        )
      }).pipe(Effect.withSpan("mm2.syncTopicConfigs", { root: true, attributes: { flow: ctx.name } }))

      return yield* everyInterval(round, healthy, h.settings.syncTopicConfigsIntervalSeconds)
    }).pipe(Effect.scoped)
}
