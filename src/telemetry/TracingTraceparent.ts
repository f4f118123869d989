/**
 * W3C Trace Context `traceparent` headers of source records, turned into span links: the
 * producer's span a record came from. Format (version 00): `00-<32 hex trace id>-<16 hex span
 * id>-<2 hex flags>`; later versions may append `-...`, which is ignored, as the spec asks.
 */
import { Tracer } from "effect"
import type { KafkaRecord } from "../kafka/KafkaRecord.js"

export const TRACEPARENT = "traceparent"

/** at most this many distinct links per span: a trace backend shows a few, not thousands */
export const MAX_LINKS = 32

const LENGTH = 55
const HEX = /^[0-9a-f]+$/

export interface TraceParent {
  readonly traceId: string
  readonly spanId: string
  readonly sampled: boolean
}

/** A traceparent value, or undefined when it is not a valid one (never throws). */
export const parseTraceparent = (value: string | Buffer | null): TraceParent | undefined => {
  if (value === null || value.length < LENGTH) return undefined
  const s = typeof value === "string" ? value : value.toString("latin1", 0, Math.min(value.length, 64))
  if (s[2] !== "-" || s[35] !== "-" || s[52] !== "-" || (s.length > LENGTH && s[LENGTH] !== "-")) return undefined
  const version = s.slice(0, 2)
  // ff is forbidden; version 00 has exactly 55 characters
  if (version === "ff" || (version === "00" && s.length !== LENGTH) || !HEX.test(version)) return undefined
  const traceId = s.slice(3, 35)
  const spanId = s.slice(36, 52)
  const flags = s.slice(53, 55)
  if (!HEX.test(traceId) || !HEX.test(spanId) || !HEX.test(flags)) return undefined
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 }
}

export interface SourceLinks {
  readonly links: ReadonlyArray<Tracer.SpanLink>
  /** MAX_LINKS were reached: later records' producers are not linked */
  readonly truncated: boolean
}

/**
 * Links to the distinct producer spans of `batches`' records (first MAX_LINKS), each naming the
 * first record that carried it. Looks at header keys only until a traceparent is found.
 */
export const sourceLinks = (
  batches: ReadonlyArray<{ readonly topic: string; readonly partition: number; readonly records: ReadonlyArray<KafkaRecord> }>
): SourceLinks => {
  const seen = new Set<string>()
  const links: Array<Tracer.SpanLink> = []
  for (const b of batches) {
    for (const r of b.records) {
      const headers = r.headers
      for (let i = 0; i < headers.length; i++) {
        const h = headers[i]!
        if (h.key !== TRACEPARENT) continue
        const parent = parseTraceparent(h.value)
        if (parent === undefined) continue
        const key = `${parent.traceId}-${parent.spanId}`
        if (seen.has(key)) continue
        if (links.length === MAX_LINKS) return { links, truncated: true }
        seen.add(key)
        links.push({
          _tag: "SpanLink",
          span: Tracer.externalSpan({ traceId: parent.traceId, spanId: parent.spanId, sampled: parent.sampled }),
          attributes: { "mm2.source.topic": b.topic, "mm2.source.partition": b.partition, "mm2.source.offset": Number(r.offset) }
        })
      }
    }
  }
  return { links, truncated: false }
}
