/**
 * Runs the replicator with its HTTP server when one is asked for: the server and the herders
 * read the same TaskRegistry, the server listens before the herders start (so /ready answers
 * 503 from the first moment) and closes after they stopped.
 */
import { Data, Effect, Layer, Option } from "effect"
import type { Mm2Settings } from "../config/Mm2Config.js"
import * as Mm2 from "../Mm2.js"
import { TaskRegistry } from "../supervision/TaskRegistry.js"
import type { HttpSettings } from "./HttpSettings.js"

/** The HTTP server could not listen (a port taken, an address not on this host). */
export class HttpServeError extends Data.TaggedError("HttpServeError")<{ readonly address: string; readonly detail: string }> {
  override get message(): string {
    return `HTTP server: cannot listen on ${this.address}: ${this.detail}`
  }
}

const detailOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

export const run = (settings: Mm2Settings, http: Option.Option<HttpSettings>) =>
  Option.match(http, {
    onNone: () => Mm2.run(settings),
    onSome: (h) =>
      Effect.gen(function*() {
        const registry = yield* TaskRegistry.make
        // loaded only now: the HTTP stack is tens of MiB of memory a process without it does not need
        const HttpServer = yield* Effect.promise(() => import("./HttpServer.js"))
        yield* Layer.build(HttpServer.layer(registry, h)).pipe(
          Effect.mapError((e) => new HttpServeError({ address: `${h.host}:${h.port}`, detail: detailOf(e.cause) }))
        )
        return yield* Mm2.runWith(settings).pipe(Effect.provideService(TaskRegistry, registry))
      }).pipe(Effect.scoped)
  })
