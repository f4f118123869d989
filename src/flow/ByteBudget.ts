/**
 * How much fetched data a flow holds, in bytes as decoded (decompressed), not in batches: a
 * compressed source would otherwise multiply what a count of batches means (one 1 MiB fetch of
 * a 100:1 source is 100 MiB of records).
 *
 * `effect-mm2.replication.buffer.bytes` (B) is split in two halves:
 * - the hand-over: batches the reader gave the writer and the target has not acknowledged hold
 *   at most B/2 (`ByteBudget`). A batch waits for room before it is handed over, and with it the
 *   consumer's batch handler, so fetching pauses (backpressure to the broker). A batch larger than
 *   the whole half waits until nothing else is held and then passes alone: nothing deadlocks.
 * - the fetch: what one fetch round may decompress is about B/2 (`FetchSizer`). Fetch sizes are
 *   compressed bytes, so they follow the compression ratio observed on the partitions' fetches.
 *
 * Sizes count key, value and header bytes plus RECORD_OVERHEAD per record for the objects
 * around them (see KafkaRecord.ts), once per batch.
 */
import { Deferred, Effect, FiberId } from "effect"
import { decodedBytes, type FetchedBatch } from "../kafka/KafkaRecord.js"

/** Bytes a fetched batch holds in memory, decoded (measured by the client when it could). */
export const batchBytes = (batch: FetchedBatch): number => batch.bytes ?? decodedBytes(batch.records)

export interface ByteBudget {
  /**
   * Waits (in arrival order: a large batch is not overtaken forever by small ones) until `bytes`
   * fit, holds them and returns what to give back on release (`bytes`, or the whole budget for a
   * batch larger than it). Interruptible while waiting; an interrupted wait holds nothing.
   */
  readonly acquire: (bytes: number) => Effect.Effect<number>
  /** Gives back what `acquire` returned. */
  readonly release: (held: number) => Effect.Effect<void>
}

interface Waiter {
  readonly bytes: number
  readonly granted: Deferred.Deferred<void>
  done: boolean
}

/** A budget of `capacity` bytes (at least 1). */
export const make = (capacity: number): ByteBudget => {
  const total = Math.max(1, Math.floor(capacity))
  let free = total
  const waiters: Array<Waiter> = []

  // first come, first served: stops at the first waiter that does not fit
  const grant = () => {
    while (waiters.length > 0 && waiters[0]!.bytes <= free) {
      const w = waiters.shift()!
      free -= w.bytes
      w.done = true
      Deferred.unsafeDone(w.granted, Effect.void)
    }
  }

  const release = (held: number) =>
    Effect.sync(() => {
      free = Math.min(total, free + held)
      grant()
    })

  const acquire = (bytes: number): Effect.Effect<number> =>
    Effect.suspend(() => {
      const n = Math.min(Math.max(0, Math.ceil(bytes)), total)
      if (waiters.length === 0 && n <= free) {
        free -= n
        return Effect.succeed(n)
      }
      const w: Waiter = { bytes: n, granted: Deferred.unsafeMake<void>(FiberId.none), done: false }
      waiters.push(w)
      return Deferred.await(w.granted).pipe(
        Effect.as(n),
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            // granted just before the interruption: give it back; else leave the line
            if (w.done) free = Math.min(total, free + n)
            else waiters.splice(waiters.indexOf(w), 1)
            grant()
          })
        )
      )
    })

  return { acquire, release }
}
