/**
 * DefaultReplicationPolicy (spec §4.2): remote topics are `<sourceAlias><sep><topic>`.
 */
import type { ReplicationPolicy, ReplicationPolicyOptions } from "./ReplicationPolicy.js"
import * as Defaults from "./ReplicationPolicyDefaults.js"

export const CLASS_NAME = "org.apache.kafka.connect.mirror.DefaultReplicationPolicy"
export const DEFAULT_SEPARATOR = "."

/**
 * Java `String.split(Pattern.quote(sep))`: a literal split whose trailing empty pieces are
 * discarded (leading ones are kept). JS split already agrees on the empty-separator case.
 */
export const splitLikeJava = (value: string, separator: string): Array<string> => {
  const parts = value.split(separator)
  while (parts.length > 0 && parts[parts.length - 1] === "") parts.pop()
  return parts
}

/**
 * The internal-topic separator: releases before 3.1 always used `.` for MM2's internal topics, and
 * the flag keeps that naming. Java only reads the flag when a separator is configured at all.
 */
const internalSeparator = (options: ReplicationPolicyOptions): string => {
  if (options.separator === undefined) return DEFAULT_SEPARATOR
  return options.internalTopicSeparatorEnabled === false ? DEFAULT_SEPARATOR : options.separator
}

export const make = (options: ReplicationPolicyOptions = {}): ReplicationPolicy => {
  const separator = options.separator ?? DEFAULT_SEPARATOR
  const isep = internalSeparator(options)
  const checkpointsSuffix = `${isep}checkpoints${isep}internal`
  const internalSuffix = `${isep}internal`

  const topicSource = (topic: string): string | null => {
    const parts = splitLikeJava(topic, separator)
    return parts.length < 2 ? null : (parts[0] ?? null)
  }
  const upstreamTopic = (topic: string): string | null => {
    const source = topicSource(topic)
    // everything after the first separator, whatever it contains
    return source === null ? null : topic.substring(source.length + separator.length)
  }
  const originalTopic = (topic: string): string => Defaults.originalTopic(upstreamTopic, topic)
  const heartbeatsTopic = (): string => Defaults.HEARTBEATS_TOPIC
  const isMM2InternalTopic = (topic: string): boolean => topic.endsWith(internalSuffix)

  return {
    className: CLASS_NAME,
    formatRemoteTopic: (sourceAlias, topic) => `${sourceAlias}${separator}${topic}`,
    topicSource,
    upstreamTopic,
    originalTopic,
    heartbeatsTopic,
    offsetSyncsTopic: (clusterAlias) => `mm2-offset-syncs${isep}${clusterAlias}${isep}internal`,
    checkpointsTopic: (clusterAlias) => `${clusterAlias}${checkpointsSuffix}`,
    isHeartbeatsTopic: (topic) => Defaults.isHeartbeatsTopic(heartbeatsTopic, originalTopic, topic),
    isCheckpointsTopic: (topic) => topic.endsWith(checkpointsSuffix),
    isMM2InternalTopic,
    isInternalTopic: (topic) => Defaults.isInternalTopic(isMM2InternalTopic, topic)
  }
}
