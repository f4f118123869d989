/**
 * `effect-mm2 status --http-port N [--http-host H]`: what a running instance's `/status` says,
 * as tables for a person. Exits 0 when the instance is ready, 1 when it is not or cannot be reached.
 * Also the `--http-port` / `--http-host` options and config keys of the main command.
 */
import { Command, Options } from "@effect/cli"
import { Console, Data, Duration, Effect, Option } from "effect"
import { DEFAULT_HOST, type HttpSettings } from "../http/HttpSettings.js"
import type { HerderReport, StatusReport } from "../http/StatusReport.js"

/** The properties-file keys of the HTTP server (effect-mm2's own; MM2 has none). */
export const PORT_KEY = "effect-mm2.http.port"
export const HOST_KEY = "effect-mm2.http.host"

export class StatusError extends Data.TaggedError("StatusError")<{ readonly url: string; readonly detail: string }> {
  override get message(): string {
    return `${this.url}: ${this.detail}`
  }
}

/** `--http-port` or `effect-mm2.http.port` is not a port number. */
export class HttpSettingError extends Data.TaggedError("HttpSettingError")<{ readonly key: string; readonly detail: string }> {
  override get message(): string {
    return `${this.key}: ${this.detail}`
  }
}

export class NotReady extends Data.TaggedError("NotReady")<{ readonly reasons: ReadonlyArray<string> }> {
  override get message(): string {
    return `not ready: ${this.reasons.join("; ")}`
  }
}

export const httpPort = Options.integer("http-port").pipe(
  Options.optional,
  Options.withDescription(
    `serve /metrics (Prometheus), /health, /ready and /status on this port (default: no HTTP server; also ${PORT_KEY} in the file)`
  )
)

export const httpHost = Options.text("http-host").pipe(
  Options.optional,
  Options.withDescription(`the address the HTTP server binds to, or status connects to (default ${DEFAULT_HOST}; also ${HOST_KEY})`)
)

/** The server settings from the command line, else the file; none when no port is given. */
export const httpSettings = (
  port: Option.Option<number>,
  host: Option.Option<string>,
  properties: ReadonlyMap<string, string>
): Effect.Effect<Option.Option<HttpSettings>, HttpSettingError> => {
  const fromFile = properties.get(PORT_KEY)?.trim()
  const p = Option.isSome(port) ? port.value : fromFile !== undefined && fromFile !== "" ? Number(fromFile) : undefined
  if (p === undefined) return Effect.succeed(Option.none())
  if (!Number.isInteger(p) || p < 0 || p > 65_535) {
    const given = Option.isSome(port) ? String(port.value) : fromFile
    return Effect.fail(new HttpSettingError({ key: Option.isSome(port) ? "--http-port" : PORT_KEY, detail: `not a port number (0..65535): ${given}` }))
  }
  const h = Option.getOrElse(host, () => properties.get(HOST_KEY)?.trim() || DEFAULT_HOST)
  return Effect.succeed(Option.some({ port: p, host: h }))
}

const TIMEOUT = Duration.seconds(5)

const fetchStatus = (url: string) =>
  Effect.tryPromise({
    try: (signal) =>
      fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(Duration.toMillis(TIMEOUT))]) }).then((r) => r.json() as Promise<StatusReport>),
    catch: (e) => new StatusError({ url, detail: e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e) })
  })

/** Columns padded to their widest cell. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

const orDash = (v: string | number | null | undefined): string => (v === null || v === undefined || v === "" ? "-" : String(v))

const herderText = (h: HerderReport): string => {
  const tasks = table(
    ["TASK", "STATE", "SINCE", "RESTARTS", "LAST ERROR"],
    h.tasks.map((t) => [t.task, t.state, t.since, String(t.restarts), orDash(t.lastError)])
  )
  const partitions = h.partitions.length === 0 ? "" : `\n\n${
    table(
      ["TOPIC", "PARTITION", "STATE", "END", "POSITION", "BEHIND", "BEHIND FOR", "LAST REPLICATED", "LAST CHECKPOINT"],
      h.partitions.map((p) => [
        `${p.topic} -> ${p.remoteTopic}`,
        String(p.partition),
        p.state,
        orDash(p.endOffset),
        orDash(p.replicatedPosition),
        orDash(p.recordsBehind),
        p.recordsBehindAgeSeconds > 0 ? `${p.recordsBehindAgeSeconds} s` : "-",
        orDash(p.lastReplicatedAt),
        orDash(p.lastCheckpointAt)
      ])
    )
  }`
  return `herder ${h.herder}  (last heartbeat ${orDash(h.lastHeartbeatAt)}, last checkpoint round ${orDash(h.lastCheckpointRoundAt)})\n` +
    `${tasks}${partitions}`
}

/** The whole report as text. */
export const render = (url: string, r: StatusReport): string =>
  [
    `effect-mm2 at ${url}: ${r.ready ? "READY" : "NOT READY"} (${r.at})`,
    ...r.reasons.map((x) => `  - ${x}`),
    ...r.herders.map((h) => `\n${herderText(h)}`)
  ].join("\n")

export const command = Command.make("status", {
  port: Options.integer("http-port").pipe(Options.withDescription("the HTTP port of the running instance (its --http-port)")),
  host: Options.text("http-host").pipe(Options.withDefault(DEFAULT_HOST), Options.withDescription("its address"))
}, ({ host, port }) =>
  Effect.gen(function*() {
    const base = `http://${host.includes(":") ? `[${host}]` : host}:${port}`
    const report = yield* fetchStatus(`${base}/status`)
    yield* Console.log(render(base, report))
    if (!report.ready) return yield* new NotReady({ reasons: report.reasons })
  })).pipe(Command.withDescription("print a running instance's state (tasks, partitions, records behind) from its HTTP server"))
