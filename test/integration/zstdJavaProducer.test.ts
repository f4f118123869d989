/**
 * A zstd topic filled by the standard Java producer with large batches replicates completely.
 *
 * Why this test exists: the Java client writes zstd frames without a content size, and with a
 * large `batch.size` and compressible values its batches decompress to more than 1 MiB. The
 * WebAssembly zstd codec we used guessed a 1 MiB output buffer, failed on such a batch ("Failed
 * to compress with code -70") and replication of the topic stalled without an error above DEBUG.
 * Batches written by kafkajs (compression.test.ts) are small and carry the content size, so only
 * a Java producer shows this; ProducerPerformance is the stock one, run from the brokers' jars.
 *
 * Why 2 MiB batches: `batch.size` bounds the producer's ESTIMATE of the compressed size, and it
 * starts out assuming no compression (ratio 1 x 1.05), improving the estimate only a little per
 * batch. With `batch.size` = 1 MiB the first few dozen batches hold ~965 records of 1 KiB, just
 * under 1 MiB; with 2 MiB every full batch holds ~1930 records (~1.9 MiB) from the first one.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"
import { inject } from "vitest"
import { runJavaTool } from "./support/javaTools.js"
import { createTopic, endOffsets, flowProps, readAll, startReplicator, sum, uniqueId } from "./support/kafka.js"

const PARTITIONS = 3
/** ~30 MiB of values: ~16 batches, every full one decompressing to ~1.9 MiB */
const RECORDS = 30_000
const BATCH_SIZE = 2 * 1024 * 1024
const VALUE = Buffer.alloc(1024, "a")

/** One line, one payload: every record's value is VALUE. Deleted with the scope. */
const payloadFile = Effect.acquireRelease(
  Effect.promise(async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "effect-mm2-payload-"))
    const file = path.join(dir, "payload.txt")
    await fsp.writeFile(file, VALUE)
    return file
  }),
  (file) => Effect.promise(() => fsp.rm(path.dirname(file), { recursive: true, force: true }))
)

describe("zstd from the Java producer", () => {
  it.scopedLive("a zstd topic written by ProducerPerformance with 2 MiB batches replicates completely", () =>
    Effect.gen(function*() {
      const primary = inject("primaryBootstrap")
      const backup = inject("backupBootstrap")
      const id = uniqueId()
      const [source, target] = [`p${id}`, `b${id}`]
      const topic = `zstdjava${id}`
      yield* createTopic(primary, topic, PARTITIONS)

      const perf = yield* runJavaTool("org.apache.kafka.tools.ProducerPerformance", [
        "--topic",
        topic,
        "--num-records",
        String(RECORDS),
        "--throughput",
        "-1",
        "--payload-file",
        yield* payloadFile,
        // deprecated since 4.x in favour of --command-property, which 3.9 lacks; both accept this
        "--producer-props",
        `bootstrap.servers=${primary}`,
        "compression.type=zstd",
        `batch.size=${BATCH_SIZE}`,
        "linger.ms=100",
        // the default sticky partitioner may put every batch into one partition (it did, once, in
        // CI); round robin spreads them, so several partitions are replicated at once
        "partitioner.class=org.apache.kafka.clients.producer.RoundRobinPartitioner",
        "acks=all"
      ], { timeout: "60 seconds" })
      // The tool exits 0 even when sends failed (it only prints them), so the broker's end
      // offsets are the proof. Not readAll: it would decode with the very codec under test.
      const sourceEnds = yield* endOffsets(primary, topic)
      expect(sum(sourceEnds), `records in ${topic} after ProducerPerformance:\n${perf.output}`).toBe(RECORDS)
      expect(sourceEnds.filter((n) => n > 0).length, `partitions of ${topic} holding records`).toBeGreaterThan(1)

      const replicator = yield* startReplicator(flowProps({
        source,
        target,
        sourceBootstrap: primary,
        targetBootstrap: backup,
        topics: topic
      }))
      const remote = `${source}.${topic}`
      const copied = yield* readAll(backup, remote, RECORDS, "45 seconds").pipe(
        Effect.mapError((e) => {
          const logs = replicator.logs().map((l) => `  ${l.level} ${l.message}`).join("\n") || "  (nothing)"
          return new Error(`${e.message}\nreplicator logs:\n${logs}`)
        })
      )
      expect(yield* endOffsets(backup, remote), `end offsets of ${remote}`).toEqual(sourceEnds)
      copied.forEach((records, partition) => {
        expect(records.length, `records in ${remote}[${partition}]`).toBe(sourceEnds[partition])
        const wrong = records.filter((r) => r.value === null || !r.value.equals(VALUE))
        expect(wrong.length, `records of ${remote}[${partition}] whose value is not 1024 x 'a'`).toBe(0)
      })
      yield* replicator.expectRunning
    }), 120_000)
})
