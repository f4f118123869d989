/**
 * Every Effect metric of the process in the Prometheus text exposition format (0.0.4), rendered
 * from `Metric.snapshot` (small enough not to need a client library, and it sees exactly what the
 * OTLP export sees).
 *
 * Names: a metric `record-count` becomes `effect_mm2_record_count`: a leading `mm2_` is dropped,
 * every character outside [a-zA-Z0-9_] becomes `_`, and `effect_mm2_` is put in front (names that
 * already start with `effect_`, Effect's own, are only sanitized). Counters end in `_total`.
 * Label names are sanitized the same way; label values are escaped.
 */
import { Effect, Metric, MetricState, Option } from "effect"
import type { MetricPair } from "effect/MetricPair"

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

const sanitize = (s: string): string => s.replace(/[^a-zA-Z0-9_]/g, "_")

/** The Prometheus family name of an Effect metric (see the module comment). */
export const familyName = (name: string, counter: boolean): string => {
  const base = sanitize(name.startsWith("mm2_") ? name.slice(4) : name)
  const prefixed = base.startsWith("effect_") ? base : `effect_mm2_${base}`
  return counter && !prefixed.endsWith("_total") ? `${prefixed}_total` : prefixed
}

const labelName = (s: string): string => {
  const n = sanitize(s)
  return /^[0-9]/.test(n) ? `_${n}` : n
}

const escapeValue = (s: string): string => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, "\\\"")
const escapeHelp = (s: string): string => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

const num = (v: number | bigint): string =>
  typeof v === "bigint" ? v.toString() : Number.isNaN(v) ? "NaN" : v === Infinity ? "+Inf" : v === -Infinity ? "-Inf" : String(v)

const labels = (tags: ReadonlyArray<readonly [string, string]>): string =>
  tags.length === 0 ? "" : `{${tags.map(([k, v]) => `${labelName(k)}="${escapeValue(v)}"`).join(",")}}`

interface Family {
  type: "counter" | "gauge" | "histogram" | "summary"
  help: string
  readonly lines: Array<string>
}

/** The text of every metric in `pairs`, one family per name, families sorted by name. */
export const render = (pairs: ReadonlyArray<MetricPair.Untyped>): string => {
  const families = new Map<string, Family>()
  const add = (name: string, type: Family["type"], help: string, line: string) => {
    let f = families.get(name)
    if (f === undefined) families.set(name, f = { type, help, lines: [] })
    f.lines.push(line)
  }
  for (const pair of pairs) {
    const key = pair.metricKey
    const state: unknown = pair.metricState
    const help = Option.getOrElse(key.description, () => key.name)
    const tags = key.tags.map((t) => [t.key, t.value] as const)
    if (MetricState.isCounterState(state)) {
      const name = familyName(key.name, true)
      add(name, "counter", help, `${name}${labels(tags)} ${num(state.count)}`)
    } else if (MetricState.isGaugeState(state)) {
      const name = familyName(key.name, false)
      add(name, "gauge", help, `${name}${labels(tags)} ${num(state.value)}`)
    } else if (MetricState.isHistogramState(state)) {
      const name = familyName(key.name, false)
      // Effect's histogram buckets are cumulative already, as Prometheus wants them
      for (const [le, count] of state.buckets) {
        if (le === Infinity) continue
        add(name, "histogram", help, `${name}_bucket${labels([...tags, ["le", num(le)]])} ${num(count)}`)
      }
      add(name, "histogram", help, `${name}_bucket${labels([...tags, ["le", "+Inf"]])} ${num(state.count)}`)
      add(name, "histogram", help, `${name}_sum${labels(tags)} ${num(state.sum)}`)
      add(name, "histogram", help, `${name}_count${labels(tags)} ${num(state.count)}`)
    } else if (MetricState.isSummaryState(state)) {
      const name = familyName(key.name, false)
      for (const [q, v] of state.quantiles) {
        add(name, "summary", help, `${name}${labels([...tags, ["quantile", num(q)]])} ${Option.match(v, { onNone: () => "NaN", onSome: num })}`)
      }
      add(name, "summary", help, `${name}_sum${labels(tags)} ${num(state.sum)}`)
      add(name, "summary", help, `${name}_count${labels(tags)} ${num(state.count)}`)
    } else if (MetricState.isFrequencyState(state)) {
      // a frequency counts occurrences of each string: a counter per value, labelled `key`
      const name = familyName(key.name, true)
      for (const [value, count] of state.occurrences) add(name, "counter", help, `${name}${labels([...tags, ["key", value]])} ${num(count)}`)
    }
  }
  const out: Array<string> = []
  for (const [name, f] of [...families].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    out.push(`# HELP ${name} ${escapeHelp(f.help)}`, `# TYPE ${name} ${f.type}`, ...f.lines)
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`
}

/** The current text of every metric of the process. */
export const scrape: Effect.Effect<string> = Effect.map(Metric.snapshot, render)
