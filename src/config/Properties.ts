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
import { Effect } from "effect"
import { getProperties } from "properties-file"
import { ConfigError } from "./ConfigError.js"

/** Parses the text of a `.properties` file. Never fails: like Java, any text is a valid file. */
export const parse = (content: string): ReadonlyMap<string, string> => new Map(Object.entries(getProperties(content)))

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
    Effect.map(parse),
    Effect.withSpan("config.readProperties", { attributes: { file } })
  )
