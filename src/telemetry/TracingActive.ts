/**
 * Whether spans go anywhere. Without a tracer installed (no OTLP variable set, no host tracer),
 * Effect still builds its own in-memory spans for `withSpan`; the data path asks this once, when
 * it is built, and then skips its span and the work that feeds it (attributes, traceparent links).
 */
import { Effect, FiberRef } from "effect"

/** the tracer every Effect runtime starts with: spans made by it are exported nowhere */
const defaultTracer = Effect.runSync(Effect.tracer)

export const tracingActive: Effect.Effect<boolean> = Effect.zipWith(
  Effect.tracer,
  FiberRef.get(FiberRef.currentTracerEnabled),
  (tracer, enabled) => enabled && tracer !== defaultTracer
)
