/**
 * Which source ACLs a flow copies to its remote topics (MM2's ACL sync rules, spec 7.8), as a
 * pure function: literal topic ACLs of replicated topics only; ALLOW WRITE is never copied (only
 * the replicator writes remote topics); ALLOW ALL becomes ALLOW READ; DENY entries are kept as they
 * are. Prefixed and wildcard-pattern ACLs are not copied. A literal ACL on the name `*` becomes
 * one on `<source>.*` under the default policy, as in MM2.
 */
import type { TopicAcl } from "../kafka/KafkaClient.js"

export const remoteAcls = (
  source: ReadonlyArray<TopicAcl>,
  shouldReplicate: (topic: string) => boolean,
  remoteName: (topic: string) => string
): ReadonlyArray<TopicAcl> =>
  source
    .filter((a) => a.pattern === "literal")
    .filter((a) => !(a.permission === "allow" && a.operation === "write"))
    .filter((a) => shouldReplicate(a.topic))
    .map((a) => ({
      ...a,
      topic: remoteName(a.topic),
      operation: a.permission === "allow" && a.operation === "all" ? "read" : a.operation
    }))

export const aclKey = (a: TopicAcl): string => `${a.topic}\u0000${a.pattern}\u0000${a.principal}\u0000${a.host}\u0000${a.operation}\u0000${a.permission}`

/** The ACLs of `wanted` that `existing` lacks (MM2 only adds, never removes), without duplicates. */
export const missingAcls = (wanted: ReadonlyArray<TopicAcl>, existing: ReadonlyArray<TopicAcl>): ReadonlyArray<TopicAcl> => {
  const have = new Set(existing.map(aclKey))
  const out = new Map<string, TopicAcl>()
  for (const a of wanted) if (!have.has(aclKey(a))) out.set(aclKey(a), a)
  return [...out.values()]
}

export const describeAcl = (a: TopicAcl): string =>
  `${a.permission.toUpperCase()} ${a.principal} ${a.operation.toUpperCase()} on ${a.topic} from ${a.host}`
