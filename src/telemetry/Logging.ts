/**
 * The process's log output. Every entry is one line (a multi-line message or a cause's stack
 * trace repeats the line's head on each of its lines), so line-based tools (grep, journald,
 * Kubernetes log collectors) never see a line without its time, level and origin:
 *
 *   text: `2026-12-02T01:23:45.678Z INFO  [primary->backup replication] message key=value span=12ms`
 *   json: `{"timestamp":"...","level":"INFO","message":"...","annotations":{...},"fiber":"#12"}`
 *
 * ERROR and FATAL go to stderr, everything else to stdout. Nothing here dumps configuration:
 * what is logged is only what the code passes to Effect.log*.
 */
import { Cause, Effect, FiberRef, HashMap, HashSet, Inspectable, Layer, List, Logger, LogLevel, type LogSpan } from "effect"
import * as FiberId from "effect/FiberId"

export type LogFormat = "text" | "json"

export const LOG_FORMATS: ReadonlyArray<LogFormat> = ["text", "json"]

/** Where lines go; each call is one complete line without its newline. */
export interface LogSink {
  readonly out: (line: string) => void
  readonly err: (line: string) => void
}

export const processSink: LogSink = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`)
}

/** The annotations the supervisor puts on every task's logs: shown as the line's `[origin]`. */
const ORIGIN_KEYS = ["herder", "task"] as const

const messageText = (message: unknown): string => {
  const parts = Array.isArray(message) ? message : [message]
  return parts.map((p) => (typeof p === "string" ? p : Inspectable.toStringUnknown(p, 0))).join(" ")
}

const causeText = (cause: Cause.Cause<unknown>): string | undefined =>
  Cause.isEmpty(cause) ? undefined : Cause.pretty(cause, { renderErrorCause: true })

const valueText = (v: unknown): string => (typeof v === "string" ? v : Inspectable.toStringUnknown(v, 0))

/** logfmt's quoting: bare when the value has no space, quote or `=`. */
const quoted = (s: string): string => (/^[^\s"=]*$/.test(s) && s.length > 0 ? s : JSON.stringify(s))

const spansOf = (spans: List.List<LogSpan.LogSpan>, now: number): ReadonlyArray<readonly [string, number]> =>
  List.toArray(spans).map((s) => [s.label, now - s.startTime] as const)

/** Sorted: a HashMap's order depends on hashes, and entries should read the same every time. */
const sortedAnnotations = (options: Logger.Logger.Options<unknown>): Array<[string, unknown]> =>
  [...HashMap.toEntries(options.annotations)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

/** One entry as text lines (the first line, then one per further line of the message or cause). */
export const formatText = (options: Logger.Logger.Options<unknown>): ReadonlyArray<string> => {
  const annotations = sortedAnnotations(options)
  const origin = ORIGIN_KEYS.flatMap((k) => {
    const v = HashMap.get(options.annotations, k)
    return v._tag === "Some" ? [valueText(v.value)] : []
  })
  const rest = annotations
    .filter(([k]) => !(ORIGIN_KEYS as ReadonlyArray<string>).includes(k))
    .map(([k, v]) => `${k}=${quoted(valueText(v))}`)
  const spans = spansOf(options.spans, options.date.getTime()).map(([label, ms]) => `${label}=${ms}ms`)
  const head = `${options.date.toISOString()} ${options.logLevel.label.padEnd(5)}${
    origin.length > 0 ? ` [${origin.join(" ")}]` : ""
  }`
  const [first = "", ...more] = messageText(options.message).split(/\r?\n/)
  const cause = causeText(options.cause)
  const continuation = [...more, ...(cause === undefined ? [] : cause.split(/\r?\n/))].filter((l) => l.trim().length > 0)
  const suffix = [...rest, ...spans].join(" ")
  return [
    `${head} ${first}${suffix.length > 0 ? ` ${suffix}` : ""}`,
    ...continuation.map((l) => `${head} | ${l}`)
  ]
}

/** One entry as one JSON object. */
export const formatJson = (options: Logger.Logger.Options<unknown>): string => {
  const annotations: Record<string, unknown> = {}
  for (const [k, v] of sortedAnnotations(options)) annotations[k] = Inspectable.toJSON(v)
  const spans = spansOf(options.spans, options.date.getTime())
  const cause = causeText(options.cause)
  return Inspectable.stringifyCircular({
    timestamp: options.date.toISOString(),
    level: options.logLevel.label,
    message: messageText(options.message),
    annotations,
    ...(spans.length > 0 ? { spans: Object.fromEntries(spans.map(([label, ms]) => [label, ms])) } : {}),
    fiber: FiberId.threadName(options.fiberId),
    ...(cause !== undefined ? { cause } : {})
  })
}

const isError = (level: LogLevel.LogLevel): boolean => LogLevel.greaterThanEqual(level, LogLevel.Error)

export const make = (format: LogFormat, sink: LogSink = processSink): Logger.Logger<unknown, void> =>
  Logger.make((options) => {
    const write = isError(options.logLevel) ? sink.err : sink.out
    if (format === "json") write(formatJson(options))
    else for (const line of formatText(options)) write(line)
  })

/**
 * Our logger instead of Effect's default one (and instead of the pretty logger, which prints
 * annotations on lines of their own and the time without a date). Other loggers (OpenTelemetry)
 * are left as they are.
 */
export const layer = (format: LogFormat, sink: LogSink = processSink): Layer.Layer<never> =>
  Layer.scopedDiscard(
    Effect.locallyScopedWith(FiberRef.currentLoggers, (loggers) =>
      loggers.pipe(
        HashSet.remove(Logger.defaultLogger),
        HashSet.remove(Logger.prettyLoggerDefault),
        HashSet.add(make(format, sink))
      ))
  )
