/**
 * The `--validate` report: enabled flows, each flow's effective settings, then the warnings.
 */
import { Schema } from "effect"
import type { ClientProps } from "./ClientConfig.js"
import { ConnectorSettings } from "./ConnectorSettings.js"
import type { FlowSettings, Mm2Settings } from "./Mm2Settings.js"

const SECRET = /(^|\.)(sasl\.jaas\.config|ssl\.keystore\.key|[^.]*password|[^.]*secret)$/i

/** Keys whose values must never be printed (Kafka `PASSWORD`-typed keys and look-alikes). */
export const isSecretKey = (key: string): boolean => SECRET.test(key)

export const redact = (key: string, value: string): string => (isSecretKey(key) ? "[hidden]" : value)

/**
 * `message` about `key` with every occurrence of the given values (as written, trimmed, or
 * JSON-escaped as `quote` prints them) replaced by `[hidden]` if `key` is secret. A safety net for
 * value checks that quote what they reject without knowing which key they check; a very short
 * secret may garble the message, which is better than showing it.
 */
export const hideSecretValues = (key: string, message: string, values: ReadonlyArray<string | undefined>): string => {
  if (!isSecretKey(key)) return message
  const forms = new Set<string>()
  for (const v of values) {
    if (v === undefined) continue
    for (const f of [v, v.trim()]) forms.add(f).add(JSON.stringify(f).slice(1, -1))
  }
  // longest first, so a shorter form cannot leave the rest of a longer one visible
  return [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length).reduce(
    (out, f) => out.split(f).join("[hidden]"),
    message
  )
}

const clientEntries = (prefix: string, props: ClientProps): Array<[string, string]> =>
  [...props].map(([k, v]) => [`${prefix}.${k}`, v])

/**
 * Effective settings of one flow as Kafka-named `key = value` pairs, sorted by key, secrets
 * redacted. Values are resolved (config providers applied), so a secret key shows `[hidden]`
 * whether its value was written in the file or came from `${provider:path:key}`.
 */
export const flowEntries = (flow: FlowSettings): ReadonlyArray<readonly [string, string]> => {
  const entries: Array<[string, string]> = [
    // Encoding gives back the Java string form of every typed setting, defaults included.
    ...Object.entries(Schema.encodeSync(ConnectorSettings)(flow)).flatMap(([k, v]) =>
      v === undefined ? [] : [[k, v] as [string, string]]
    ),
    ["offset.flush.interval.ms", String(flow.offsetFlushIntervalMs)],
    ...clientEntries("source.consumer", flow.sourceConsumer),
    ...clientEntries("source.producer", flow.sourceProducer),
    ...clientEntries("source.admin", flow.sourceAdmin),
    ...clientEntries("target.consumer", flow.targetConsumer),
    ...clientEntries("target.producer", flow.targetProducer),
    ...clientEntries("target.admin", flow.targetAdmin)
  ]
  return entries
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => [k, redact(k, v)] as const)
}

const list = (names: ReadonlyArray<string>): string => `[${names.join(", ")}]`

/**
 * First line as MM2's driver logs it; then one block per enabled flow; then the warnings.
 */
export const describe = (settings: Mm2Settings): string => {
  const lines = [
    `Starting with ${settings.flows.length} enabled replication flows: ${list(settings.flows.map((f) => f.name))}`
  ]
  const heartbeatOnly = settings.herderPairs.filter((h) => !h.replicationEnabled)
  if (heartbeatOnly.length > 0) {
    lines.push(`Heartbeat-only herders: ${list(heartbeatOnly.map((h) => h.settings.name))}`)
  }
  for (const flow of settings.flows) {
    lines.push("", `[${flow.name}]`)
    for (const [key, value] of flowEntries(flow)) lines.push(`${key} = ${value}`)
  }
  lines.push("")
  if (settings.warnings.length === 0) {
    lines.push("No warnings.")
  } else {
    lines.push(`Warnings (${settings.warnings.length}):`, ...settings.warnings.map((w) => `  ${w}`))
  }
  return lines.join("\n")
}
