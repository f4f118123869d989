/**
 * Java `.properties` files as a `ReadonlyMap<string, string>`.
 *
 * `properties-file` implements `java.util.Properties.load`: `#`/`!` start a comment only at the
 * beginning of a line (an inline `# ...` stays in the value), `=`/`:`/whitespace separators,
 * backslash escapes and continuations, leading value whitespace stripped, trailing kept, last
 * duplicate wins. One deliberate difference: files are decoded as UTF-8, whereas Java's
 * `Properties.load(InputStream)` uses ISO-8859-1. ASCII files and `\uXXXX` escapes read the same.
 */
import { readFile } from "node:fs/promises"
import { Effect, Either } from "effect"
import { getProperties } from "properties-file"
import { ConfigError } from "./ConfigError.js"

/**
 * The line of the first `\u` escape not followed by four hex digits, outside comment lines:
 * the one input Java's `Properties.load` (and the parser) rejects. 1-based; undefined if none.
 */
export const badUnicodeEscapeLine = (content: string): number | undefined => {
  const lines = content.split(/\r\n|\r|\n/)
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!
    if (/^\s*[#!]/.test(line)) continue
    for (let i = 0; i < line.length; i++) {
      if (line[i] !== "\\") continue
      if (line[i + 1] === "u" && !/^[0-9a-fA-F]{4}/.test(line.slice(i + 2))) return n + 1
      i++ // the escaped character, e.g. the second backslash of "\\"
    }
  }
  return undefined
}

/**
 * Parses the text of a `.properties` file. Like Java, almost any text is a valid file; the
 * exception is a malformed `\uXXXX` escape, reported with its line.
 */
export const parseEither = (content: string): Either.Either<ReadonlyMap<string, string>, string> => {
  try {
    return Either.right(new Map(Object.entries(getProperties(content))))
  } catch (e) {
    const line = badUnicodeEscapeLine(content)
    const reason = e instanceof Error ? e.message : String(e)
    return Either.left(line === undefined ? reason : `line ${line}: ${reason}`)
  }
}

/** `parseEither` for text known to be well-formed (tests, generated files); throws otherwise. */
export const parse = (content: string): ReadonlyMap<string, string> =>
  Either.getOrThrowWith(parseEither(content), (reason) => new Error(reason))

/** Reads and parses a `.properties` file; a missing or unreadable file fails naming the file. */
export const read = (file: string): Effect.Effect<ReadonlyMap<string, string>, ConfigError> =>
  Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (cause) =>
      new ConfigError({
        file,
        key: "",
        message: `cannot read configuration file: ${cause instanceof Error ? cause.message : String(cause)}`
      })
  }).pipe(
    Effect.flatMap((content) =>
      Either.mapLeft(parseEither(content), (reason) => new ConfigError({ file, key: "", message: `malformed properties file: ${reason}` }))
    ),
    Effect.withSpan("config.readProperties", { attributes: { file } })
  )
