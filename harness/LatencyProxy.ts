/**
 * A TCP proxy that adds latency, for tests and the bench on a machine without netem: every chunk
 * read from one side is written to the other side `oneWayMs` later (half the round trip each way),
 * in the order it was read. Bandwidth is not limited: chunks are timestamped on arrival and
 * released in bulk when due, with at most one timer per direction of a connection.
 *
 * A scoped resource: closing the scope closes the listener and destroys every connection.
 */
import * as net from "node:net"
import { performance } from "node:perf_hooks"
import { Data, Effect, type Scope } from "effect"

export interface LatencyProxyOptions {
  /** What the proxy forwards to. */
  readonly target: { readonly host: string; readonly port: number }
  /** Round-trip time added to every connection; each direction is delayed by half of it. */
  readonly rttMs: number
  /** Where to listen; default 127.0.0.1 on a port the OS picks (bound by us, so no race). */
  readonly host?: string
  readonly port?: number
}

export interface LatencyProxy {
  readonly host: string
  readonly port: number
  /** `host:port` of the listener */
  readonly address: string
  readonly rttMs: number
  /** Client connections open right now (a half-closed one counts until both sides closed). */
  readonly connections: () => number
  /** Connections accepted since start. */
  readonly accepted: () => number
}

export class LatencyProxyError extends Data.TaggedError("LatencyProxyError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * Above this many bytes held for a direction (waiting for their time, or in the outgoing socket's
 * buffer) reading from the source pauses until it is half drained: memory stays bounded when the
 * receiver is slower than the sender, as TCP's own window would.
 */
const HIGH_WATER = 64 * 1024 * 1024

/**
 * One direction of a connection: `from`'s bytes reach `to` `delayMs` after they arrived, and so
 * does its end (an orderly close is forwarded after the data before it). Stops when `to` closes.
 */
const pipeDelayed = (from: net.Socket, to: net.Socket, delayMs: number): void => {
  // arrival order is release order: a FIFO with a moving head (no shift() per chunk)
  const due: Array<number> = []
  const chunks: Array<Buffer | null> = [] // null: the source ended, forwarded in order
  let head = 0
  let held = 0
  let ended = false
  let timer: NodeJS.Timeout | undefined
  let stopped = false

  const forward = (chunk: Buffer | null) => {
    if (chunk === null) to.end()
    else to.write(chunk)
  }

  const resumeIfDrained = () => {
    if (!stopped && from.isPaused() && held + to.writableLength < HIGH_WATER / 2) from.resume()
  }

  const release = () => {
    timer = undefined
    if (stopped) return
    const now = performance.now()
    while (head < chunks.length && due[head]! <= now) {
      const chunk = chunks[head]!
      chunks[head] = null
      head++
      if (chunk !== null) held -= chunk.length
      forward(chunk)
    }
    if (head === chunks.length) {
      chunks.length = 0
      due.length = 0
      head = 0
    } else if (head >= 1024) {
      chunks.splice(0, head)
      due.splice(0, head)
      head = 0
    }
    schedule()
    resumeIfDrained()
  }

  // one timer per direction, set for the oldest waiting chunk; later ones wait in the FIFO
  const schedule = () => {
    if (timer !== undefined || stopped || head === chunks.length) return
    timer = setTimeout(release, Math.max(0, due[head]! - performance.now()))
  }

  const push = (chunk: Buffer | null) => {
    if (stopped) return
    if (delayMs <= 0 && head === chunks.length) return forward(chunk)
    due.push(performance.now() + delayMs)
    chunks.push(chunk)
    if (chunk !== null) held += chunk.length
    schedule()
  }

  const end = () => {
    if (ended) return
    ended = true
    push(null)
  }

  from.on("data", (chunk: Buffer) => {
    push(chunk)
    if (held + to.writableLength >= HIGH_WATER) from.pause()
  })
  from.on("end", end)
  from.on("close", end)
  to.on("drain", resumeIfDrained)
  to.on("close", () => {
    stopped = true
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    chunks.length = 0
    due.length = 0
  })
}

/** Starts the proxy; it stops (listener closed, every connection destroyed) when the scope closes. */
export const makeLatencyProxy = (options: LatencyProxyOptions): Effect.Effect<LatencyProxy, LatencyProxyError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: net.Server; readonly sockets: Set<net.Socket>; readonly proxy: LatencyProxy }, LatencyProxyError>((resume) => {
      const oneWayMs = Math.max(0, options.rttMs) / 2
      const sockets = new Set<net.Socket>()
      let accepted = 0
      const server = net.createServer({ noDelay: true, pauseOnConnect: true }, (client) => {
        accepted++
        const upstream = net.connect({ host: options.target.host, port: options.target.port, noDelay: true })
        for (const s of [client, upstream]) {
          sockets.add(s)
          s.once("close", () => sockets.delete(s))
        }
        // a failed side takes the other along at once; an orderly close travels with the data
        const destroy = () => {
          client.destroy()
          upstream.destroy()
        }
        client.on("error", destroy)
        upstream.on("error", destroy)
        client.once("close", () => {
          if (upstream.connecting) upstream.destroy()
        })
        upstream.once("connect", () => {
          pipeDelayed(client, upstream, oneWayMs)
          pipeDelayed(upstream, client, oneWayMs)
          client.resume()
        })
      })
      server.once("error", (cause) =>
        resume(Effect.fail(new LatencyProxyError({ message: `latency proxy cannot listen: ${cause.message}`, cause }))))
      server.listen({ host: options.host ?? "127.0.0.1", port: options.port ?? 0, exclusive: true }, () => {
        const a = server.address()
        const port = typeof a === "object" && a !== null ? a.port : 0
        const host = options.host ?? "127.0.0.1"
        resume(Effect.succeed({
          server,
          sockets,
          proxy: {
            host,
            port,
            address: `${host}:${port}`,
            rttMs: options.rttMs,
            connections: () => Math.ceil(sockets.size / 2),
            accepted: () => accepted
          }
        }))
      })
      return Effect.sync(() => server.close())
    }),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        // close() only stops accepting; it calls back once every connection is gone
        server.close(() => resume(Effect.void))
        for (const s of sockets) s.destroy()
      })
  ).pipe(Effect.map(({ proxy }) => proxy))
