/**
 * MirrorSourceConnector's ACL sync (spec 7.8) as a duty of its own: at start and then every
 * `sync.topic.acls.interval.seconds`, the literal ACLs of replicated source topics are copied to
 * their remote topics with MM2's rules (TopicAcls.ts). ACLs already on the target are not sent
 * again, and none is ever removed, as in MM2.
 *
 * A source without an authorizer has no ACLs: said once at INFO, then quiet. A target without
 * one cannot take ACLs: said once at WARN. A cluster that refuses us (our user may not describe
 * or create ACLs) stops this task with one error naming what is missing; replication goes on.
 */
import { Effect } from "effect"
import { FlowContext } from "../flow/FlowContext.js"
import { describeAcl, missingAcls, remoteAcls } from "../flow/TopicAcls.js"
import { KafkaClient, type TopicAcl } from "../kafka/KafkaClient.js"
import { KafkaError } from "../kafka/KafkaError.js"
import { shouldReplicateTopic } from "../policy/TopicSelection.js"
import type { HerderTask } from "./HerderTask.js"
import { everyInterval } from "./Periodic.js"

const refusedBy = (cluster: string, needs: string) => (e: KafkaError): KafkaError =>
  e.reason === "Authorization"
    ? new KafkaError({
      ...e,
      detail: `${e.detail}; the user effect-mm2 connects to cluster '${cluster}' with needs ${needs} ` +
        `(or set sync.topic.acls.enabled = false); replication is not affected`
    })
    : e

export const AclSyncTask: HerderTask = {
  name: "topic-acls",
  kind: "metadata",
  once: true,
  enabled: (h) => h.replicationEnabled && h.settings.syncTopicAclsEnabled && h.settings.syncTopicAclsIntervalSeconds >= 0,
  label: (h) => `ACL sync of ${h.settings.name}`,
  run: (h, healthy) =>
    Effect.gen(function*() {
      const ctx = yield* FlowContext.make(h.settings)
      const kafka = yield* KafkaClient
      const sourceAdmin = yield* kafka.admin(ctx.sourceAdmin)
      const targetAdmin = yield* kafka.admin(ctx.targetAdmin)
      let said = { sourceWithout: false, targetWithout: false }

      /** The cluster's topic ACLs; undefined when it has no authorizer. */
      const aclsOf = (admin: typeof sourceAdmin, cluster: string) =>
        admin.describeTopicAcls.pipe(
          Effect.map((acls): ReadonlyArray<TopicAcl> | undefined => acls),
          Effect.catchIf((e) => e.reason === "SecurityDisabled", () => Effect.succeed(undefined)),
          Effect.mapError(refusedBy(cluster, "DESCRIBE on the CLUSTER resource to read ACLs"))
        )

      const round = Effect.gen(function*() {
        const source = yield* aclsOf(sourceAdmin, h.source)
        if (source === undefined) {
          if (!said.sourceWithout) yield* Effect.logInfo(`Cluster '${h.source}' has no authorizer: no ACLs to sync for ${ctx.name}.`)
          said = { ...said, sourceWithout: true }
          return
        }
        const wanted = remoteAcls(
          source,
          (topic) => shouldReplicateTopic(ctx.selection, topic),
          (topic) => ctx.policy.formatRemoteTopic(h.source, topic)
        )
        if (wanted.length === 0) return
        const existing = yield* aclsOf(targetAdmin, h.target)
        if (existing === undefined) {
          if (!said.targetWithout) {
            yield* Effect.logWarning(
              `Cluster '${h.target}' has no authorizer: the ${wanted.length} ACL(s) of ${h.source}'s replicated topics are not synced.`
            )
          }
          said = { ...said, targetWithout: true }
          return
        }
        const missing = missingAcls(wanted, existing)
        if (missing.length === 0) return
        yield* targetAdmin.createTopicAcls(missing).pipe(
          Effect.mapError(refusedBy(h.target, "ALTER on the CLUSTER resource to create ACLs"))
        )
        for (const a of missing) yield* Effect.logInfo(`Synced ACL to ${h.target}: ${describeAcl(a)}`)
      }).pipe(Effect.withSpan("mm2.syncTopicAcls", { root: true, attributes: { flow: ctx.name } }))

      return yield* everyInterval(round, healthy, h.settings.syncTopicAclsIntervalSeconds)
    }).pipe(Effect.scoped)
}
