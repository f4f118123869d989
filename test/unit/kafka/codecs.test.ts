/**
 * The codecs registered into kafkajs, on the inputs that broke earlier ones. Java's producer
 * writes zstd frames without a content size; a decoder that guesses the output size from the
 * header fails once a batch decompresses to more than its guess (1 MiB for the wasm codec used
 * before), which stalled replication.
 */
import { describe, expect, it } from "@effect/vitest"
import { loadKafkaJs } from "../../../src/kafka/internal/kafkajs.js"

/** 5,000,000 x "a" as written by `zstd -c -` from a pipe: one frame, no Frame_Content_Size. */
const FIVE_MB_NO_CONTENT_SIZE = Buffer.from(
  "KLUv/QRYVAAAEGFhAQD7/znAAgIAEGECABBhAgAQYQIAEGECABBhAgAQYQIAEGECABBhAgAQYQIAEGECABBhAgAQYQIAEGECABBhAgAQYQIAEGECABBhAgAQYQIAEGECABBhAgAQYQIAEGECABBhAgAQYQIAEGECABBhAgAQYQIAEGECABBhAgAQYQIAEGECABBhAgAQYQIAEGECABBhAgAQYQIAEGEDWgJhVBEOYw==",
  "base64"
)

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>
  decompress(buffer: Buffer): Promise<Buffer>
}

const codec = async (type: number): Promise<Codec> => {
  const kafkajs = await loadKafkaJs()
  const factory = (kafkajs.CompressionCodecs as unknown as Record<number, (() => Codec) | undefined>)[type]
  if (factory === undefined) throw new Error(`no codec ${type}`)
  return factory()
}

describe("zstd codec", () => {
  it("decodes a frame without content size far larger than 1 MiB", async () => {
    // the header really lacks the size: Frame_Header_Descriptor's FCS flag and single-segment bit are 0
    expect(FIVE_MB_NO_CONTENT_SIZE.readUInt32LE(0)).toBe(0xfd2fb528)
    expect(FIVE_MB_NO_CONTENT_SIZE[4]! & 0xe0).toBe(0)
    const out = await (await codec(4)).decompress(FIVE_MB_NO_CONTENT_SIZE)
    expect(out.length).toBe(5_000_000)
    expect(out.every((b) => b === 0x61)).toBe(true)
  })

  it("decodes concatenated frames, as a batch may hold", async () => {
    const z = await codec(4)
    const out = await z.decompress(Buffer.concat([FIVE_MB_NO_CONTENT_SIZE, FIVE_MB_NO_CONTENT_SIZE]))
    expect(out.length).toBe(10_000_000)
  })

  it("round-trips 8 MiB of incompressible and compressible data", async () => {
    const z = await codec(4)
    const noise = Buffer.alloc(4 * 1024 * 1024)
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24
    const input = Buffer.concat([noise, Buffer.alloc(4 * 1024 * 1024, 0x62)])
    const packed = await z.compress({ buffer: input })
    expect(packed.length).toBeLessThan(input.length)
    expect((await z.decompress(packed)).equals(input)).toBe(true)
  })
})
