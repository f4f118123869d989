/**
 * Errors raised while reading and resolving `mm2.properties`.
 *
 * Both are `Schema.TaggedError`s so they stay serialisable (e.g. for a `--validate` JSON mode)
 * and can be matched with `Effect.catchTag`.
 */
import { Schema } from "effect"

/** One problem with one key. `key` is the key as written in the file (e.g. `A->B.replication.factor`). */
export const ConfigIssue = Schema.Struct({
  key: Schema.String,
  message: Schema.String
})
export type ConfigIssue = typeof ConfigIssue.Type

/** Renders `file: key: message`; an empty key means the problem concerns the whole file. */
export const formatIssue = (file: string | undefined, issue: ConfigIssue): string => {
  const parts = [file, issue.key].filter((p): p is string => p !== undefined && p !== "")
  return [...parts, issue.message].join(": ")
}

/**
 * A single configuration problem: an unreadable file (then `key` is `""`), or a lookup of
 * something the resolved config does not contain.
 */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  file: Schema.optionalWith(Schema.String, { exact: true }),
  key: Schema.String,
  message: Schema.String
}) {
  /** The human-readable line, `file: key: message`. */
  get line(): string {
    return formatIssue(this.file, this)
  }
}

/**
 * Every problem found in one file. Resolution collects all issues instead of stopping at the
 * first, so a user can fix a whole file in one go.
 */
export class InvalidConfig extends Schema.TaggedError<InvalidConfig>()("InvalidConfig", {
  file: Schema.String,
  issues: Schema.Array(ConfigIssue)
}) {
  /** One line per issue, e.g. `mm2.properties: A->B.replication.factor: expected an integer, got "two"`. */
  override get message(): string {
    return this.issues.map((issue) => formatIssue(this.file, issue)).join("\n")
  }
}
