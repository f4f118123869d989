import { Data } from "effect"

/**
 * Every failure of a Kafka call, with the cluster and operation it concerns.
 * `retriable` drives the supervisors: transient errors are retried with backoff,
 * the others stop the flow with this message.
 */
export class KafkaError extends Data.TaggedError("KafkaError")<{
  readonly cluster: string
  readonly operation: string
  readonly reason: KafkaErrorReason
  readonly retriable: boolean
  readonly detail: string
  readonly topic?: string
  readonly cause?: unknown
}> {
  /** The same failure, no longer worth retrying (e.g. a cluster that never answered at start). */
  asFatal(note: string): KafkaError {
    return new KafkaError({
      cluster: this.cluster,
      operation: this.operation,
      reason: this.reason,
      retriable: false,
      detail: `${this.detail} (${note})`,
      ...(this.topic !== undefined ? { topic: this.topic } : {}),
      cause: this.cause
    })
  }

  override get message(): string {
    const where = this.topic === undefined ? "" : ` (topic ${this.topic})`
    return `${this.operation} on cluster '${this.cluster}'${where} failed: ${this.detail}`
  }
}

export type KafkaErrorReason =
  | "Authentication"
  | "Authorization"
  | "Unreachable"
  | "RecordTooLarge"
  | "UnknownTopic"
  | "InvalidRequest"
  /** the broker refuses this one topic (an invalid name, a topic policy); other topics are fine */
  | "TopicRejected"
  | "Unsupported"
  | "Transient"
