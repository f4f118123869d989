/**
 * Two group requests kafkajs 2.2.4 cannot make, encoded here in Kafka's flexible format (compact
 * strings and arrays, tagged fields), sent over kafkajs's broker connections:
 * - FindCoordinator v4 (KIP-699, Kafka 3.0+): the coordinators of many groups in one request;
 * - OffsetFetch v8 (KIP-709, Kafka 3.0+): the committed offsets of many groups in one request.
 * kafkajs knows only one group per request of each, which makes a checkpoint round over 10,000
 * groups cost 20,000 round trips; with these it costs one per coordinator per 1,000 groups.
 *
 * kafkajs writes request header v1 (no tagged fields) and strips the correlation id of a
 * response, so a flexible request starts its payload with the header's empty tagged fields,
 * and its response decoder starts by skipping the response header's.
 */

/** What kafkajs's connection sends: `request.encode()` must return something with `buf`/`buffer`. */
export interface RawRequest<A> {
  readonly request: {
    readonly apiKey: number
    readonly apiVersion: number
    readonly apiName: string
    readonly encode: () => Promise<{ readonly buf: Buffer; readonly buffer: Buffer }>
  }
  readonly response: {
    readonly decode: (raw: Buffer) => Promise<A>
    readonly parse: (a: A) => Promise<A>
  }
}

export const API_OFFSET_FETCH = 9
export const API_FIND_COORDINATOR = 10
export const OFFSET_FETCH_BATCHED_VERSION = 8
export const FIND_COORDINATOR_BATCHED_VERSION = 4

// --- a minimal writer and reader for the flexible format -----------------------------------

class Writer {
  private readonly parts: Array<Buffer> = []

  uvarint(v: number): this {
    const bytes: Array<number> = []
    while (v >= 0x80) {
      bytes.push((v & 0x7f) | 0x80)
      v = Math.floor(v / 128)
    }
    bytes.push(v)
    this.parts.push(Buffer.from(bytes))
    return this
  }

  int8(v: number): this {
    const b = Buffer.alloc(1)
    b.writeInt8(v)
    this.parts.push(b)
    return this
  }

  int32(v: number): this {
    const b = Buffer.alloc(4)
    b.writeInt32BE(v)
    this.parts.push(b)
    return this
  }

  compactString(s: string): this {
    const b = Buffer.from(s, "utf8")
    this.uvarint(b.length + 1)
    this.parts.push(b)
    return this
  }

  compactArray<T>(items: ReadonlyArray<T> | null, each: (w: this, item: T) => void): this {
    if (items === null) return this.uvarint(0)
    this.uvarint(items.length + 1)
    for (const item of items) each(this, item)
    return this
  }

  noTags(): this {
    return this.uvarint(0)
  }

  done(): { readonly buf: Buffer; readonly buffer: Buffer } {
    const buffer = Buffer.concat(this.parts)
    return { buf: buffer, buffer }
  }
}

class Reader {
  private offset = 0
  constructor(private readonly b: Buffer) {}

  uvarint(): number {
    let value = 0
    let factor = 1
    for (;;) {
      const byte = this.b.readUInt8(this.offset++)
      value += (byte & 0x7f) * factor
      if ((byte & 0x80) === 0) return value
      factor *= 128
    }
  }

  int16(): number {
    const v = this.b.readInt16BE(this.offset)
    this.offset += 2
    return v
  }

  int32(): number {
    const v = this.b.readInt32BE(this.offset)
    this.offset += 4
    return v
  }

  int64(): bigint {
    const v = this.b.readBigInt64BE(this.offset)
    this.offset += 8
    return v
  }

  compactNullableString(): string | null {
    const n = this.uvarint()
    if (n === 0) return null
    const s = this.b.toString("utf8", this.offset, this.offset + n - 1)
    this.offset += n - 1
    return s
  }

  compactString(): string {
    return this.compactNullableString() ?? ""
  }

  compactArray<T>(each: (r: this) => T): Array<T> {
    const n = this.uvarint()
    const out: Array<T> = []
    for (let i = 1; i < n; i++) out.push(each(this))
    return out
  }

  skipTags(): void {
    const n = this.uvarint()
    for (let i = 0; i < n; i++) {
      this.uvarint()
      this.offset += this.uvarint()
    }
  }
}

const passThrough = <A>(a: A) => Promise.resolve(a)

// --- FindCoordinator v4 ----------------------------------------------------------------------

export interface Coordinator {
  readonly key: string
  readonly nodeId: number
  readonly host: string
  readonly port: number
  readonly errorCode: number
  readonly errorMessage: string | null
}

/** The coordinators of many consumer groups (key type 0 = group). */
export const findCoordinators = (groups: ReadonlyArray<string>): RawRequest<ReadonlyArray<Coordinator>> => ({
  request: {
    apiKey: API_FIND_COORDINATOR,
    apiVersion: FIND_COORDINATOR_BATCHED_VERSION,
    apiName: "FindCoordinator",
    encode: () =>
      Promise.resolve(
        new Writer().noTags().int8(0).compactArray(groups, (w, g) => w.compactString(g)).noTags().done()
      )
  },
  response: {
    decode: (raw) => {
      const r = new Reader(raw)
      r.skipTags()
      r.int32() // throttle time
      const coordinators = r.compactArray((r): Coordinator => {
        const c = {
          key: r.compactString(),
          nodeId: r.int32(),
          host: r.compactString(),
          port: r.int32(),
          errorCode: r.int16(),
          errorMessage: r.compactNullableString()
        }
        r.skipTags()
        return c
      })
      return Promise.resolve(coordinators)
    },
    parse: passThrough
  }
})

// --- OffsetFetch v8 --------------------------------------------------------------------------

export interface FetchedPartition {
  readonly partition: number
  /** -1 where the group has no committed offset */
  readonly offset: bigint
  readonly metadata: string | null
  readonly errorCode: number
}

export interface FetchedGroup {
  readonly groupId: string
  readonly errorCode: number
  readonly topics: ReadonlyArray<{ readonly topic: string; readonly partitions: ReadonlyArray<FetchedPartition> }>
}

/** Every committed offset of each of `groups` (all its topics), from their common coordinator. */
export const fetchGroupsOffsets = (groups: ReadonlyArray<string>): RawRequest<ReadonlyArray<FetchedGroup>> => ({
  request: {
    apiKey: API_OFFSET_FETCH,
    apiVersion: OFFSET_FETCH_BATCHED_VERSION,
    apiName: "OffsetFetch",
    encode: () =>
      Promise.resolve(
        new Writer()
          .noTags()
          // per group: its id, null topics (= all of them), no tags
          .compactArray(groups, (w, g) => w.compactString(g).compactArray(null, () => undefined).noTags())
          .int8(0) // require_stable: false (an unstable offset is still a committed one)
          .noTags()
          .done()
      )
  },
  response: {
    decode: (raw) => {
      const r = new Reader(raw)
      r.skipTags()
      r.int32() // throttle time
      const result = r.compactArray((r): FetchedGroup => {
        const groupId = r.compactString()
        const topics = r.compactArray((r) => {
          const topic = r.compactString()
          const partitions = r.compactArray((r): FetchedPartition => {
            const partition = r.int32()
            const offset = r.int64()
            r.int32() // committed leader epoch
            const metadata = r.compactNullableString()
            const errorCode = r.int16()
            r.skipTags()
            return { partition, offset, metadata, errorCode }
          })
          r.skipTags()
          return { topic, partitions }
        })
        const errorCode = r.int16()
        r.skipTags()
        return { groupId, errorCode, topics }
      })
      return Promise.resolve(result)
    },
    parse: passThrough
  }
})
