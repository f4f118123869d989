/**
 * Kafka's `protocol.types` Struct encoding (spec §5.1), as Schemas from bytes: fields in schema
 * order, no tags, no lengths, no padding. INT16/INT32/INT64 big-endian, STRING = INT16 length +
 * UTF-8. Decoding ignores trailing bytes (how MM2 leaves room for appended fields). The internal
 * topics' records (heartbeats, offset syncs, checkpoints) are built from these.
 */
import { ParseResult, Schema } from "effect"

// method syntax on purpose: its parameter bivariance lets a FieldCodec<string> stand in a
// Record<string, FieldCodec<unknown>>
interface FieldCodec<A> {
  size(a: A): number
  /** returns the offset after the value */
  write(buf: Buffer, at: number, a: A): number
  /** the value and the offset after it; throws RangeError past the end */
  read(buf: Buffer, at: number): readonly [A, number]
}

export const int16: FieldCodec<number> = {
  size: () => 2,
  write: (b, at, a) => b.writeInt16BE(a, at),
  read: (b, at) => [b.readInt16BE(at), at + 2]
}

export const int32: FieldCodec<number> = {
  size: () => 4,
  write: (b, at, a) => b.writeInt32BE(a, at),
  read: (b, at) => [b.readInt32BE(at), at + 4]
}

export const int64: FieldCodec<bigint> = {
  size: () => 8,
  write: (b, at, a) => b.writeBigInt64BE(a, at),
  read: (b, at) => [b.readBigInt64BE(at), at + 8]
}

export const string: FieldCodec<string> = {
  size: (a) => 2 + Buffer.byteLength(a, "utf8"),
  write: (b, at, a) => {
    const n = b.write(a, at + 2, "utf8")
    b.writeInt16BE(n, at)
    return at + 2 + n
  },
  read: (b, at) => {
    const n = b.readInt16BE(at)
    if (n < 0) throw new RangeError(`negative string length ${n} at byte ${at}`)
    if (at + 2 + n > b.length) throw new RangeError(`string of ${n} bytes at byte ${at} runs past the end`)
    return [b.toString("utf8", at + 2, at + 2 + n), at + 2 + n]
  }
}

type StructOf<F> = { readonly [K in keyof F]: F[K] extends FieldCodec<infer A> ? A : never }

/**
 * A Struct of `fields` (in insertion order) as a Schema from bytes, optionally after an INT16
 * `version` prefix (MM2's values start with one). Encoding writes `version`; decoding reads any
 * version with this layout, as MM2's readers do (their version check is a Java `assert`, off in
 * a normal JVM), so records of a later MM2 that only appended fields still read.
 */
export const struct = <const F extends Record<string, FieldCodec<unknown>>>(
  fields: F,
  options: { readonly version?: number } = {}
): Schema.Schema<StructOf<F>, Uint8Array> => {
  const entries: Array<[string, FieldCodec<unknown>]> = Object.entries(fields)
  return Schema.transformOrFail(Schema.Uint8ArrayFromSelf, Schema.Any as Schema.Schema<StructOf<F>>, {
    strict: true,
    decode: (bytes, _, ast) => {
      const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      try {
        let at = 0
        if (options.version !== undefined) {
          at = int16.read(buf, 0)[1]
        }
        const out: Record<string, unknown> = {}
        for (const [name, codec] of entries) {
          const [value, next] = codec.read(buf, at)
          out[name] = value
          at = next
        }
        return ParseResult.succeed(out as StructOf<F>)
      } catch (e) {
        return ParseResult.fail(new ParseResult.Type(ast, bytes, `truncated or malformed: ${e instanceof Error ? e.message : String(e)}`))
      }
    },
    encode: (value) => {
      const v = value as Record<string, unknown>
      let size = options.version === undefined ? 0 : 2
      for (const [name, codec] of entries) size += codec.size(v[name])
      const buf = Buffer.alloc(size)
      let at = options.version === undefined ? 0 : int16.write(buf, 0, options.version)
      for (const [name, codec] of entries) at = codec.write(buf, at, v[name])
      return ParseResult.succeed(buf)
    }
  })
}
