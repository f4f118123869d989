/**
 * A minimal writer and reader of Kafka's flexible request format (compact strings and arrays,
 * tagged fields), for the requests kafkajs 2.2.4 cannot make; sent over kafkajs's own broker
 * connections.
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
  /** instead of the connection's own (a JoinGroup waits for the whole rebalance) */
  readonly requestTimeout?: number
  readonly response: {
    readonly decode: (raw: Buffer) => Promise<A>
    readonly parse: (a: A) => Promise<A>
  }
}

export class Writer {
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

  compactNullableString(s: string | null): this {
    return s === null ? this.uvarint(0) : this.compactString(s)
  }

  compactBytes(b: Buffer): this {
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

export class Reader {
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

  int8(): number {
    const v = this.b.readInt8(this.offset)
    this.offset += 1
    return v
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

  compactBytes(): Buffer {
    const n = this.uvarint()
    if (n === 0) return Buffer.alloc(0)
    const b = this.b.subarray(this.offset, this.offset + n - 1)
    this.offset += n - 1
    return b
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

export const passThrough = <A>(a: A) => Promise.resolve(a)
