/**
 * Resolves `replication.policy.class` to one of the built-in policies. Arbitrary Java classes
 * cannot be loaded, so anything else is a configuration error rather than a silent fallback.
 */
import { Data, Either } from "effect"
import * as DefaultReplicationPolicy from "./DefaultReplicationPolicy.js"
import * as IdentityReplicationPolicy from "./IdentityReplicationPolicy.js"
import type { ReplicationPolicy, ReplicationPolicyOptions } from "./ReplicationPolicy.js"

export const CLASS_KEY = "replication.policy.class"
export const SEPARATOR_KEY = "replication.policy.separator"
export const INTERNAL_TOPIC_SEPARATOR_ENABLED_KEY = "replication.policy.internal.topic.separator.enabled"
export const SOURCE_CLUSTER_ALIAS_KEY = "source.cluster.alias"

export const DEFAULT_CLASS_NAME = DefaultReplicationPolicy.CLASS_NAME

const builders: ReadonlyMap<string, (options: ReplicationPolicyOptions) => ReplicationPolicy> = new Map([
  [DefaultReplicationPolicy.CLASS_NAME, DefaultReplicationPolicy.make],
  ["DefaultReplicationPolicy", DefaultReplicationPolicy.make],
  [IdentityReplicationPolicy.CLASS_NAME, IdentityReplicationPolicy.make],
  ["IdentityReplicationPolicy", IdentityReplicationPolicy.make]
])

/** Every accepted spelling of `replication.policy.class` (full or simple name) -> the full class name. */
export const CANONICAL_CLASS_NAMES: ReadonlyMap<string, string> = new Map(
  [DefaultReplicationPolicy.CLASS_NAME, IdentityReplicationPolicy.CLASS_NAME].flatMap((fqcn) => [
    [fqcn, fqcn] as const,
    [fqcn.slice(fqcn.lastIndexOf(".") + 1), fqcn] as const
  ])
)

export class UnknownReplicationPolicy extends Data.TaggedError("UnknownReplicationPolicy")<{
  readonly key: typeof CLASS_KEY
  readonly className: string
}> {
  override get message(): string {
    return (
      `Invalid value ${this.className} for configuration ${this.key}: unsupported replication policy class. ` +
      `Supported: ${DefaultReplicationPolicy.CLASS_NAME}, ${IdentityReplicationPolicy.CLASS_NAME} ` +
      `(or their simple names DefaultReplicationPolicy, IdentityReplicationPolicy).`
    )
  }
}

export const fromClassName = (
  className: string,
  options: ReplicationPolicyOptions = {}
): Either.Either<ReplicationPolicy, UnknownReplicationPolicy> => {
  // Connect's CLASS config type trims the value before loading it.
  const build = builders.get(className.trim())
  return build === undefined
    ? Either.left(new UnknownReplicationPolicy({ key: CLASS_KEY, className }))
    : Either.right(build(options))
}

/**
 * Reads the policy options the way the Java policies' `configure(originals)` does: raw values,
 * `Boolean.parseBoolean` for the flag (anything but "true", case-insensitively, is false).
 */
export const optionsFromConfig = (config: Readonly<Record<string, string | undefined>>): ReplicationPolicyOptions => {
  const flag = config[INTERNAL_TOPIC_SEPARATOR_ENABLED_KEY]
  return {
    separator: config[SEPARATOR_KEY],
    internalTopicSeparatorEnabled: flag === undefined ? undefined : flag.toLowerCase() === "true",
    sourceClusterAlias: config[SOURCE_CLUSTER_ALIAS_KEY]
  }
}

/** Policy for a connector config map (class key absent => DefaultReplicationPolicy). */
export const fromConfig = (
  config: Readonly<Record<string, string | undefined>>
): Either.Either<ReplicationPolicy, UnknownReplicationPolicy> =>
  fromClassName(config[CLASS_KEY] ?? DEFAULT_CLASS_NAME, optionsFromConfig(config))
