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
  /** for errors about records: the source partition and offsets concerned */
  readonly partition?: number
  readonly offsets?: { readonly first: string; readonly last: string }
  readonly cause?: unknown
}> {
  override get message(): string {
    const where = this.topic === undefined
      ? ""
      : ` (topic ${this.topic}${this.partition === undefined ? "" : ` partition ${this.partition}`}${
        this.offsets === undefined ? "" : ` offsets ${this.offsets.first}..${this.offsets.last}`
      })`
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
  /** a commit from outside a consumer group that has members (they own its offsets) */
  | "GroupActive"
  /** the cluster has no authorizer, so it has no ACLs to describe or create */
  | "SecurityDisabled"
  | "Transient"

/** The broker refuses a replication factor larger than its number of brokers (INVALID_REPLICATION_FACTOR). */
export const isReplicationFactorRefused = (e: KafkaError): boolean =>
  e.reason === "InvalidRequest" && /replication[- _]factor/i.test(e.detail)
