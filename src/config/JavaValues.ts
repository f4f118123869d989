/**
 * Value codecs with Kafka `ConfigDef` parsing semantics, as `Schema`s from string.
 *
 * Each schema decodes the raw property value and encodes back to the Java string form, so the
 * same definitions serve validation and the `--validate` dump. Failure messages are written for
 * users ("expected an integer, got \"two\""); the caller prefixes file and key.
 */
import { Either, ParseResult, Schema, type SchemaAST } from "effect"
import { compileFullMatch } from "../policy/JavaRegex.js"

/** Java `Boolean.parseBoolean`: only a case-insensitive exact `true` is true (no trimming). */
export const parseBoolean = (value: string | undefined): boolean => value !== undefined && value.toLowerCase() === "true"

/** ConfigDef `LIST`: trim, empty means no elements, else split on commas with surrounding blanks. */
export const splitList = (value: string): ReadonlyArray<string> => {
  const trimmed = value.trim()
  // Java keeps trailing empty elements (`split(s, -1)`), as does String.prototype.split.
  return trimmed === "" ? [] : trimmed.split(/\s*,\s*/)
}

const quote = (s: string): string => JSON.stringify(s)

const invalid = (ast: SchemaAST.AST, actual: string, message: string) =>
  ParseResult.fail(new ParseResult.Type(ast, actual, message))

/** ConfigDef `STRING`: the value trimmed. */
export const JavaString: Schema.Schema<string, string> = Schema.transform(Schema.String, Schema.String, {
  strict: true,
  decode: (s) => s.trim(),
  encode: (s) => s
})

/** ConfigDef `BOOLEAN`: `true`/`false` in any case, surrounding blanks ignored; anything else fails. */
export const JavaBoolean: Schema.Schema<boolean, string> = Schema.transformOrFail(Schema.String, Schema.Boolean, {
  strict: true,
  decode: (s, _, ast) => {
    const t = s.trim().toLowerCase()
    return t === "true"
      ? ParseResult.succeed(true)
      : t === "false"
      ? ParseResult.succeed(false)
      : invalid(ast, s, `expected true or false, got ${quote(s)}`)
  },
  encode: (b) => ParseResult.succeed(String(b))
})

const ranges = {
  short: [-(2n ** 15n), 2n ** 15n - 1n],
  int: [-(2n ** 31n), 2n ** 31n - 1n],
  long: [-(2n ** 63n), 2n ** 63n - 1n]
} as const

export interface IntegerCheck {
  readonly check: (n: number) => boolean
  /** Completes "expected ..." in the failure message. */
  readonly expected: string
}

/**
 * ConfigDef `SHORT`/`INT`/`LONG` (Java `parseShort`/`parseInt`/`parseLong` of the trimmed value),
 * with an optional range check. Values are JS numbers; longs beyond 2^53 lose precision, which
 * only matters for absurd intervals.
 */
export const javaInteger = (
  kind: keyof typeof ranges,
  refine?: IntegerCheck
): Schema.Schema<number, string> =>
  Schema.transformOrFail(Schema.String, Schema.Number, {
    strict: true,
    decode: (s, _, ast) => {
      const t = s.trim()
      if (!/^[+-]?\d+$/.test(t)) return invalid(ast, s, `expected an integer, got ${quote(s)}`)
      const [min, max] = ranges[kind]
      const big = BigInt(t)
      if (big < min || big > max) {
        return invalid(ast, s, `expected an integer between ${min} and ${max}, got ${quote(s)}`)
      }
      const n = Number(big)
      if (refine !== undefined && !refine.check(n)) {
        return invalid(ast, s, `expected ${refine.expected}, got ${quote(s)}`)
      }
      return ParseResult.succeed(n)
    },
    encode: (n) => ParseResult.succeed(String(n))
  })

/** ConfigDef `LIST` of strings. Encodes back with `,` as Java's `ConfigDef.convertToString` does. */
export const JavaList: Schema.Schema<ReadonlyArray<string>, string> = Schema.transform(
  Schema.String,
  Schema.Array(Schema.String),
  { strict: true, decode: splitList, encode: (xs) => xs.join(",") }
)

/**
 * A `LIST` of Java regexes (topic/group filters). Each element must translate to a JS regex
 * with the same meaning (policy/JavaRegex.ts), since that is what will run; Java-only syntax is
 * reported here, every bad element at once, rather than when a flow starts.
 */
export const RegexList: Schema.Schema<ReadonlyArray<string>, string> = Schema.transformOrFail(
  Schema.String,
  Schema.Array(Schema.String),
  {
    strict: true,
    decode: (s, _, ast) => {
      const xs = splitList(s)
      const problems = xs.flatMap((x) =>
        Either.match(compileFullMatch(x), {
          onLeft: (reason) => [`invalid regular expression ${quote(x)}: ${reason}`],
          onRight: () => []
        })
      )
      return problems.length === 0 ? ParseResult.succeed(xs) : invalid(ast, s, problems.join("; "))
    },
    encode: (xs) => ParseResult.succeed(xs.join(","))
  }
)

/** A trimmed `STRING` restricted to a fixed set of values (case-sensitive, like `ValidString.in`). */
export const javaEnum = <const A extends ReadonlyArray<string>>(...values: A): Schema.Schema<A[number], string> =>
  Schema.transformOrFail(Schema.String, Schema.Literal(...values), {
    strict: true,
    decode: (s, _, ast) => {
      const t = s.trim()
      const hit = values.find((v) => v === t)
      return hit !== undefined
        ? ParseResult.succeed(hit as A[number])
        : invalid(ast, s, `expected one of ${values.join(", ")}, got ${quote(s)}`)
    },
    encode: (a) => ParseResult.succeed(a)
  })

/**
 * A `CLASS` key for which only built-in implementations exist here (we cannot load Java classes).
 * `accepted` maps every accepted spelling to the canonical fully-qualified name.
 */
export const javaClass = (
  accepted: ReadonlyMap<string, string>,
  what: string
): Schema.Schema<string, string> =>
  Schema.transformOrFail(Schema.String, Schema.String, {
    strict: true,
    decode: (s, _, ast) => {
      const canonical = accepted.get(s.trim())
      return canonical !== undefined
        ? ParseResult.succeed(canonical)
        : invalid(
          ast,
          s,
          `unsupported ${what} ${quote(s.trim())}; effect-mm2 only provides ${
            [...new Set(accepted.values())].join(", ")
          }`
        )
    },
    encode: (c) => ParseResult.succeed(c)
  })
