/**
 * Include/exclude name filters with the exact semantics of DefaultTopicFilter / DefaultGroupFilter
 * (spec §3.5). Generic over what is named, so the same module serves topics and consumer groups.
 */
import { Data, Either } from "effect"
import * as JavaRegex from "./JavaRegex.js"

export const TOPICS_KEY = "topics"
export const TOPICS_EXCLUDE_KEY = "topics.exclude"
export const GROUPS_KEY = "groups"
export const GROUPS_EXCLUDE_KEY = "groups.exclude"

export const DEFAULT_TOPICS_INCLUDE: ReadonlyArray<string> = [".*"]
export const DEFAULT_TOPICS_EXCLUDE: ReadonlyArray<string> = [".*[\\-\\.]internal", ".*\\.replica", "__.*"]
export const DEFAULT_GROUPS_INCLUDE: ReadonlyArray<string> = [".*"]
export const DEFAULT_GROUPS_EXCLUDE: ReadonlyArray<string> = ["console-consumer-.*", "connect-.*", "__.*"]

/** A filter list that cannot be compiled; `key` is the config key it came from. */
export class InvalidTopicPattern extends Data.TaggedError("InvalidTopicPattern")<{
  readonly key: string
  readonly pattern: string
  readonly reason: string
}> {
  override get message(): string {
    return `Invalid value ${this.pattern} for configuration ${this.key}: ${this.reason}`
  }
}

export interface NameFilter {
  /** The configured lists, as given (for logging / config echo). */
  readonly include: ReadonlyArray<string>
  readonly exclude: ReadonlyArray<string>
  isIncluded(name: string): boolean
  isExcluded(name: string): boolean
  /** included AND NOT excluded: exclude always wins. */
  shouldReplicate(name: string): boolean
}

export type TopicFilter = NameFilter
export type GroupFilter = NameFilter

export interface NameFilterOptions {
  readonly include: ReadonlyArray<string>
  readonly exclude: ReadonlyArray<string>
  /** Config key reported for include errors (default `topics`, or a flow-scoped key). */
  readonly includeKey?: string | undefined
  /** Config key reported for exclude errors (default `topics.exclude`). */
  readonly excludeKey?: string | undefined
}

const compileOne = JavaRegex.compileFullMatch

/**
 * Java joins the list with `|` and compiles the result, so we do the same (a construct may span
 * elements there). On failure, blame the first element that is invalid on its own, if any.
 * An empty list is "no pattern", which matches nothing.
 */
const compileList = (
  patterns: ReadonlyArray<string>,
  key: string
): Either.Either<RegExp | null, InvalidTopicPattern> => {
  if (patterns.length === 0) return Either.right(null)
  const joined = patterns.join("|")
  return Either.orElse(compileOne(joined), (joinedReason) => {
    for (const pattern of patterns) {
      const single = compileOne(pattern)
      if (Either.isLeft(single)) return Either.left(new InvalidTopicPattern({ key, pattern, reason: single.left }))
    }
    return Either.left(new InvalidTopicPattern({ key, pattern: joined, reason: joinedReason }))
  })
}

export const make = (options: NameFilterOptions): Either.Either<NameFilter, InvalidTopicPattern> =>
  Either.gen(function* () {
    const include = yield* compileList(options.include, options.includeKey ?? TOPICS_KEY)
    const exclude = yield* compileList(options.exclude, options.excludeKey ?? TOPICS_EXCLUDE_KEY)
    // The regexes are not global, so `test` keeps no state between calls.
    const isIncluded = (name: string): boolean => include !== null && include.test(name)
    const isExcluded = (name: string): boolean => exclude !== null && exclude.test(name)
    return {
      include: [...options.include],
      exclude: [...options.exclude],
      isIncluded,
      isExcluded,
      shouldReplicate: (name: string): boolean => isIncluded(name) && !isExcluded(name)
    }
  })

/** Topic filter with MM2's defaults for absent keys (`topics=.*`, default `topics.exclude`). */
export const makeTopicFilter = (options: {
  readonly include?: ReadonlyArray<string> | undefined
  readonly exclude?: ReadonlyArray<string> | undefined
  readonly includeKey?: string | undefined
  readonly excludeKey?: string | undefined
} = {}): Either.Either<TopicFilter, InvalidTopicPattern> =>
  make({
    include: options.include ?? DEFAULT_TOPICS_INCLUDE,
    exclude: options.exclude ?? DEFAULT_TOPICS_EXCLUDE,
    includeKey: options.includeKey ?? TOPICS_KEY,
    excludeKey: options.excludeKey ?? TOPICS_EXCLUDE_KEY
  })

/** Group filter with MM2's defaults for absent keys (`groups=.*`, default `groups.exclude`). */
export const makeGroupFilter = (options: {
  readonly include?: ReadonlyArray<string> | undefined
  readonly exclude?: ReadonlyArray<string> | undefined
  readonly includeKey?: string | undefined
  readonly excludeKey?: string | undefined
} = {}): Either.Either<GroupFilter, InvalidTopicPattern> =>
  make({
    include: options.include ?? DEFAULT_GROUPS_INCLUDE,
    exclude: options.exclude ?? DEFAULT_GROUPS_EXCLUDE,
    includeKey: options.includeKey ?? GROUPS_KEY,
    excludeKey: options.excludeKey ?? GROUPS_EXCLUDE_KEY
  })
