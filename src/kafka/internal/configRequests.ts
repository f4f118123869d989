/**
 * IncrementalAlterConfigs v1 (KIP-339, Kafka 2.4+), which kafkajs 2.2.4 lacks: it changes the
 * named configs of a resource and leaves every other one alone. kafkajs only has AlterConfigs,
 * which replaces a topic's whole config and so would wipe settings made on the target alone.
 */
import type { ConfigOperation } from "../KafkaClient.js"
import { passThrough, type RawRequest, Reader, Writer } from "./flexibleCodec.js"

export const API_INCREMENTAL_ALTER_CONFIGS = 44
export const INCREMENTAL_ALTER_CONFIGS_VERSION = 1

const RESOURCE_TOPIC = 2
const OP_SET = 0
const OP_DELETE = 1


export interface TopicConfigAlteration {
  readonly topic: string
  readonly operations: ReadonlyArray<ConfigOperation>
}

export interface AlterResult {
  readonly topic: string
  readonly errorCode: number
  readonly errorMessage: string | null
}

export const incrementalAlterTopicConfigs = (
  alterations: ReadonlyArray<TopicConfigAlteration>
): RawRequest<ReadonlyArray<AlterResult>> => ({
  request: {
    apiKey: API_INCREMENTAL_ALTER_CONFIGS,
    apiVersion: INCREMENTAL_ALTER_CONFIGS_VERSION,
    apiName: "IncrementalAlterConfigs",
    encode: () =>
      Promise.resolve(
        new Writer()
          .noTags()
          .compactArray(alterations, (w, a) =>
            w.int8(RESOURCE_TOPIC)
              .compactString(a.topic)
              .compactArray(a.operations, (w, o) =>
                (o.op === "set" ? w.compactString(o.name).int8(OP_SET).compactString(o.value) : w.compactString(o.name).int8(OP_DELETE).compactNullableString(null))
                  .noTags())
              .noTags())
          .int8(0) // validate_only: false
          .noTags()
          .done()
      )
  },
  response: {
    decode: (raw) => {
      const r = new Reader(raw)
      r.skipTags()
      r.int32() // throttle time
      const results = r.compactArray((r): AlterResult => {
        const errorCode = r.int16()
        const errorMessage = r.compactNullableString()
        r.int8() // resource type
        const topic = r.compactString()
        r.skipTags()
        return { topic, errorCode, errorMessage }
      })
      return Promise.resolve(results)
    },
    parse: passThrough
  }
})
