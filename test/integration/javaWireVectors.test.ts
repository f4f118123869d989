/**
 * Our wire codecs (src/wire/{Checkpoint,Heartbeat,OffsetSync}.ts) against Java MirrorMaker 2's OWN
 * classes (org.apache.kafka.connect.mirror.Checkpoint and Heartbeat from connect-mirror-client
 * 4.3.1, OffsetSync from connect-mirror 4.3.1), byte for byte, through
 * fixtures/JavaWireVectors.java:
 *
 * - every record Java's classes write decodes with our decoders to the fields Java printed;
 * - our encoders write exactly Java's bytes for the same fields;
 * - Java's deserializeRecord reads our encodings back to the same fields;
 * - both read past trailing bytes, both reject truncated records, and both read a value whose
 *   header carries a future version (written by Java's own serializeValue(version)) with the v0
 *   layout, as a production (no -ea) MM2 does.
 *
 * No broker is used: only java, javac and mvn (the jars are resolved once into the cache).
 */
import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Either, Layer } from "effect"
import * as Checkpoint from "../../src/wire/Checkpoint.js"
import * as Heartbeat from "../../src/wire/Heartbeat.js"
import * as OffsetSync from "../../src/wire/OffsetSync.js"
import { fixtureClasspath, runFixture } from "./support/mirrorClient.js"

const FIXTURE = "JavaWireVectors"

type Kind = "checkpoint" | "heartbeat" | "offsetSync"
const KINDS: ReadonlyArray<Kind> = ["checkpoint", "heartbeat", "offsetSync"]

/** A record's fields by name, as the fixture prints them (numbers in decimal). */
type Fields = Readonly<Record<string, string>>

/** One line of the fixture: `kind<TAB>hexKey<TAB>hexValue<TAB>name=value...`. */
interface Line {
  readonly kind: Kind
  readonly hexKey: string
  readonly hexValue: string
  /** the record's fields (or, for a record Java could not read, only `error`) */
  readonly fields: Fields
  /** the vector's label (vectors only) */
  readonly label: string
  /** the value header's version Java wrote (checkpoint and heartbeat vectors only) */
  readonly version: number | undefined
}

const unescape = (s: string) =>
  s.replace(/\\(.)/g, (_, c: string) => (c === "t" ? "\t" : c === "n" ? "\n" : c === "r" ? "\r" : c))

const parseLines = (stdout: string): ReadonlyArray<Line> =>
  stdout
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => {
      const [kind, hexKey, hexValue, ...cols] = l.split("\t")
      if (kind === undefined || !KINDS.includes(kind as Kind) || hexKey === undefined || hexValue === undefined) {
        throw new Error(`unexpected ${FIXTURE} output line: ${l.slice(0, 200)}`)
      }
      const all: Record<string, string> = {}
      for (const col of cols) {
        const eq = col.indexOf("=")
        if (eq < 0) throw new Error(`unexpected ${FIXTURE} field "${col.slice(0, 200)}"`)
        all[col.slice(0, eq)] = unescape(col.slice(eq + 1))
      }
      const { case: label = "", version, ...fields } = all
      return { kind: kind as Kind, hexKey, hexValue, fields, label, version: version === undefined ? undefined : Number(version) }
    })

// ---------------------------------------------------------------------------------------------
// Our codecs, over the fixture's field names (which are ours)
// ---------------------------------------------------------------------------------------------

const field = (f: Fields, name: string): string => {
  const v = f[name]
  if (v === undefined) throw new Error(`field ${name} missing from ${JSON.stringify(f)}`)
  return v
}

const asFields = (r: { readonly key: object; readonly value: object }): Fields =>
  Object.fromEntries(Object.entries({ ...r.key, ...r.value }).map(([k, v]) => [k, String(v)]))

interface Codec {
  readonly encode: (f: Fields) => { readonly key: Buffer; readonly value: Buffer }
  readonly decode: (key: Uint8Array, value: Uint8Array) => Either.Either<Fields, unknown>
}

const codecs: Record<Kind, Codec> = {
  checkpoint: {
    encode: (f) =>
      Checkpoint.encode({
        group: field(f, "group"),
        topic: field(f, "topic"),
        partition: Number(field(f, "partition")),
        upstreamOffset: BigInt(field(f, "upstreamOffset")),
        offset: BigInt(field(f, "offset")),
        metadata: field(f, "metadata")
      }),
    decode: (key, value) => Either.map(Checkpoint.decode(key, value), asFields)
  },
  heartbeat: {
    encode: (f) =>
      Heartbeat.encode({
        sourceClusterAlias: field(f, "sourceClusterAlias"),
        targetClusterAlias: field(f, "targetClusterAlias"),
        timestamp: BigInt(field(f, "timestamp"))
      }),
    decode: (key, value) => Either.map(Heartbeat.decode(key, value), asFields)
  },
  offsetSync: {
    encode: (f) =>
      OffsetSync.encode({
        topic: field(f, "topic"),
        partition: Number(field(f, "partition")),
        upstreamOffset: BigInt(field(f, "upstreamOffset")),
        offset: BigInt(field(f, "offset"))
      }),
    decode: (key, value) => Either.map(OffsetSync.decode(key, value), asFields)
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")
const bytes = (h: string) => Buffer.from(h, "hex")

/** Our decoder's reading of a record, as fields, or `error` when it rejects it. */
const oursRead = (kind: Kind, hexKey: string, hexValue: string): Fields =>
  Either.match(codecs[kind].decode(bytes(hexKey), bytes(hexValue)), {
    onLeft: (e) => ({ error: String(e) }),
    onRight: (f) => f
  })

const name = (v: Line) => `${v.kind} "${v.label}"`

// ---------------------------------------------------------------------------------------------
// Java's side: the fixture compiled once, its vectors, and its reader
// ---------------------------------------------------------------------------------------------

interface Raw {
  readonly kind: Kind
  readonly hexKey: string
  readonly hexValue: string
}

class JavaWire extends Context.Tag("javaWireVectors/JavaWire")<JavaWire, {
  /** the records Java's classes wrote */
  readonly vectors: ReadonlyArray<Line>
  /** Java's deserializeRecord reading each record, in order */
  readonly read: (records: ReadonlyArray<Raw>) => Effect.Effect<ReadonlyArray<Line>, Error>
}>() {
  static readonly Live = Layer.scoped(
    JavaWire,
    Effect.gen(function*() {
      const classpath = yield* fixtureClasspath(FIXTURE)
      const vectors = parseLines((yield* runFixture(FIXTURE, [], { classpath })).stdout)
      const read = (records: ReadonlyArray<Raw>) =>
        Effect.gen(function*() {
          const args = ["decode", ...records.flatMap((r) => [r.kind, r.hexKey, r.hexValue])]
          const lines = parseLines((yield* runFixture(FIXTURE, args, { classpath })).stdout)
          // the fixture echoes its input: a lost or reordered line would pair the wrong records
          expect(lines.map((l) => [l.kind, l.hexKey, l.hexValue])).toEqual(records.map((r) => [r.kind, r.hexKey, r.hexValue]))
          return lines
        }).pipe(Effect.scoped)
      return { vectors, read }
    })
  )
}

/** The vectors MM2 4.3.1 writes (value header version 0, or no header: OffsetSync). */
const current = (vectors: ReadonlyArray<Line>) => vectors.filter((v) => v.version === undefined || v.version === 0)

describe("wire records against Java MirrorMaker 2's own classes (4.3.1)", () => {
  layer(JavaWire.Live, { excludeTestServices: true, timeout: "120 seconds" })((it) => {
    it.effect("Java wrote the expected vectors, matching the spec's worked examples", () =>
      Effect.gen(function*() {
        const { vectors } = yield* JavaWire
        for (const kind of KINDS) expect(current(vectors).filter((v) => v.kind === kind).length, kind).toBeGreaterThanOrEqual(8)
        expect(new Set(vectors.map(name)).size).toBe(vectors.length)
        const byName = (kind: Kind, label: string) => {
          const v = vectors.find((x) => x.kind === kind && x.label === label)
          if (v === undefined) throw new Error(`no ${kind} vector "${label}"`)
          return [v.hexKey, v.hexValue]
        }
        // mm2-spec.md §5.2–§5.4, derived there by hand
        expect(byName("offsetSync", "spec §5.2 example")).toEqual(["00066f726465727300000003", "00000000000003e800000000000003e6"])
        expect(byName("checkpoint", "spec §5.3 example")).toEqual([
          "00086d792d67726f7570000e75732d776573742e6f726465727300000003",
          "0000" + "00000000000003e8" + "00000000000003e6" + "0000"
        ])
        expect(byName("checkpoint", "spec §5.3 example, metadata m1")[1]).toBe("0000" + "00000000000003e8" + "00000000000003e6" + "00026d31")
        expect(byName("heartbeat", "spec §5.4 example")).toEqual(["000775732d77657374000775732d65617374", "00000000018bcfe56800"])
      }))

    it.effect("Java reads its own vectors back to the fields it printed", () =>
      Effect.gen(function*() {
        const { read, vectors } = yield* JavaWire
        const javaRead = yield* read(vectors)
        vectors.forEach((v, i) => expect.soft(javaRead[i]?.fields, name(v)).toEqual(v.fields))
      }))

    it.effect("our decoders read every record Java's classes write, field for field", () =>
      Effect.gen(function*() {
        const { vectors } = yield* JavaWire
        for (const v of current(vectors)) expect.soft(oursRead(v.kind, v.hexKey, v.hexValue), name(v)).toEqual(v.fields)
      }))

    it.effect("our encoders write Java's bytes for the same fields", () =>
      Effect.gen(function*() {
        const { vectors } = yield* JavaWire
        for (const v of current(vectors)) {
          const ours = codecs[v.kind].encode(v.fields)
          expect.soft(hex(ours.key), `${name(v)} key`).toBe(v.hexKey)
          expect.soft(hex(ours.value), `${name(v)} value`).toBe(v.hexValue)
        }
      }))

    it.effect("Java's deserializeRecord reads our encodings to the same fields", () =>
      Effect.gen(function*() {
        const { read, vectors } = yield* JavaWire
        const ours = vectors.map((v) => {
          const { key, value } = codecs[v.kind].encode(v.fields)
          return { kind: v.kind, hexKey: hex(key), hexValue: hex(value) }
        })
        const javaRead = yield* read(ours)
        vectors.forEach((v, i) => expect.soft(javaRead[i]?.fields, name(v)).toEqual(v.fields))
      }))

    it.effect("both ignore trailing bytes after the key and the value", () =>
      Effect.gen(function*() {
        const { read, vectors } = yield* JavaWire
        const padded = current(vectors).map((v) => ({ ...v, hexKey: v.hexKey + "ff00ff", hexValue: v.hexValue + "0001ff" }))
        const javaRead = yield* read(padded)
        padded.forEach((v, i) => {
          expect.soft(javaRead[i]?.fields, `Java, ${name(v)}`).toEqual(v.fields)
          expect.soft(oursRead(v.kind, v.hexKey, v.hexValue), `ours, ${name(v)}`).toEqual(v.fields)
        })
      }))

    it.effect("both reject a record whose key or value is one byte short", () =>
      Effect.gen(function*() {
        const { read, vectors } = yield* JavaWire
        const truncated = current(vectors).flatMap((v) => [
          { ...v, label: `${v.label}, key truncated`, hexKey: v.hexKey.slice(0, -2) },
          { ...v, label: `${v.label}, value truncated`, hexValue: v.hexValue.slice(0, -2) }
        ])
        const javaRead = yield* read(truncated)
        truncated.forEach((v, i) => {
          expect.soft(Object.keys(javaRead[i]?.fields ?? {}), `Java, ${name(v)}`).toEqual(["error"])
          expect.soft(Object.keys(oursRead(v.kind, v.hexKey, v.hexValue)), `ours, ${name(v)}`).toEqual(["error"])
        })
      }))

    it.effect("a value header with a future version (Java's serializeValue(version)) is read with the v0 layout, as Java reads it", () =>
      Effect.gen(function*() {
        const { read, vectors } = yield* JavaWire
        const future = vectors.filter((v) => v.version !== undefined && v.version !== 0)
        expect(future.map((v) => v.kind).sort()).toEqual(["checkpoint", "checkpoint", "heartbeat", "heartbeat"])
        const javaRead = yield* read(future)
        future.forEach((v, i) => {
          expect.soft(javaRead[i]?.fields, `Java, ${name(v)}`).toEqual(v.fields)
          expect.soft(oursRead(v.kind, v.hexKey, v.hexValue), `ours, ${name(v)} (${v.hexValue})`).toEqual(v.fields)
        })
      }))
  })
})
