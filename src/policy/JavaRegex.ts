/**
 * Translation of Java `java.util.regex` syntax into an equivalent JavaScript RegExp source.
 *
 * MM2 filter lists are Java regexes. The two dialects agree on the basic syntax the defaults use,
 * but differ on a handful of constructs. Where JS has an equivalent we translate (cheap, keeps
 * existing configs working); where JS would silently match something different (or cannot express
 * it) we reject with a reason rather than filter topics differently from Java MM2.
 * The output is meant for a RegExp without flags (no `u`: it would reject Java's lenient escapes
 * such as `\_` or `\#`).
 */
import { Either } from "effect"

/** POSIX classes (US-ASCII only, as in Java without UNICODE_CHARACTER_CLASS) as class bodies. */
const POSIX_CLASSES: ReadonlyMap<string, string> = new Map([
  ["Lower", "a-z"],
  ["Upper", "A-Z"],
  ["ASCII", "\\x00-\\x7F"],
  ["Alpha", "a-zA-Z"],
  ["Digit", "0-9"],
  ["Alnum", "a-zA-Z0-9"],
  ["Punct", "!-\\/:-@\\[-`{-~"],
  ["Graph", "!-~"],
  ["Print", "\\x20-\\x7E"],
  ["Blank", " \\t"],
  ["Cntrl", "\\x00-\\x1F\\x7F"],
  ["XDigit", "0-9a-fA-F"],
  ["Space", " \\t\\n\\x0B\\f\\r"]
])

/** Java `\h` and `\v` (vertical whitespace; in JS `\v` is only U+000B) as class bodies. */
const HORIZONTAL_SPACE = "\\t \\xA0\\u1680\\u180E\\u2000-\\u200A\\u202F\\u205F\\u3000"
const VERTICAL_SPACE = "\\n\\x0B\\f\\r\\x85\\u2028\\u2029"

const escapeLiteral = (text: string): string => text.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&")

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9"

class Unsupported {
  constructor(readonly reason: string) {}
}

/**
 * Returns the JS source for a Java regex, or a human-readable reason it cannot be used.
 * Syntax errors that JS also detects are left for the RegExp constructor to report.
 */
export const toJsSource = (java: string): Either.Either<string, string> => {
  try {
    return Either.right(translate(java))
  } catch (e) {
    if (e instanceof Unsupported) return Either.left(e.reason)
    throw e
  }
}

/**
 * Compiles one Java regex into a RegExp that must match a whole name (Java's `matches()`), or
 * the reason it cannot be used.
 */
export const compileFullMatch = (java: string): Either.Either<RegExp, string> =>
  Either.flatMap(toJsSource(java), (source) => {
    try {
      // Compile bare first: an unbalanced `)` would otherwise escape the anchoring wrapper.
      new RegExp(source)
      return Either.right(new RegExp(`^(?:${source})$`))
    } catch (e) {
      return Either.left(e instanceof Error ? e.message : String(e))
    }
  })

const translate = (java: string): string => {
  let out = ""
  let i = 0
  let inClass = false
  // true right after `[` or `[^`: Java then takes `]` literally, JS would close an empty class
  let classStart = false
  // true right after a quantifier: a following `+` would make it possessive
  let afterQuantifier = false

  const classBody = (body: string): string => (inClass ? body : `[${body}]`)
  const negatedClass = (body: string, construct: string): string => {
    if (inClass) throw new Unsupported(`negated class ${construct} inside a character class is not supported`)
    return `[^${body}]`
  }

  while (i < java.length) {
    const c = java.charAt(i)
    const wasClassStart: boolean = classStart
    const wasQuantifier: boolean = afterQuantifier
    classStart = false
    afterQuantifier = false

    if (c === "\\") {
      const next = java.charAt(i + 1)
      switch (next) {
        case "Q": {
          // \Q...\E quotes everything up to \E (or the end of the pattern)
          const end = java.indexOf("\\E", i + 2)
          const literal = end === -1 ? java.slice(i + 2) : java.slice(i + 2, end)
          out += escapeLiteral(literal)
          i = end === -1 ? java.length : end + 2
          continue
        }
        case "p":
        case "P": {
          const { name, length } = propertyName(java, i + 2)
          const body = POSIX_CLASSES.get(name)
          if (name.startsWith("java")) {
            throw new Unsupported(`Java-only character class \\${next}{${name}} is not supported`)
          }
          if (body === undefined) {
            throw new Unsupported(`Unicode property class \\${next}{${name}} is not supported`)
          }
          out += next === "p" ? classBody(body) : negatedClass(body, `\\P{${name}}`)
          i += 2 + length
          continue
        }
        case "h":
          out += classBody(HORIZONTAL_SPACE)
          i += 2
          continue
        case "H":
          out += negatedClass(HORIZONTAL_SPACE, "\\H")
          i += 2
          continue
        case "v":
          out += classBody(VERTICAL_SPACE)
          i += 2
          continue
        case "V":
          out += negatedClass(VERTICAL_SPACE, "\\V")
          i += 2
          continue
        case "e":
          out += "\\x1B"
          i += 2
          continue
        case "a":
          out += "\\x07"
          i += 2
          continue
        case "x": {
          if (java.charAt(i + 2) !== "{") break
          const close = java.indexOf("}", i + 3)
          const hex = close === -1 ? "" : java.slice(i + 3, close)
          const code = /^[0-9a-fA-F]{1,6}$/.test(hex) ? parseInt(hex, 16) : Number.NaN
          if (Number.isNaN(code) || code > 0xffff) {
            throw new Unsupported(`\\x{${hex}} is not supported (only code points up to FFFF)`)
          }
          out += `\\u${code.toString(16).padStart(4, "0")}`
          i = close + 1
          continue
        }
        case "0": {
          // Java octal escape \0n, \0nn, \0mnn (m <= 3); JS would read \0 as NUL then digits
          const digits = /^[0-3]?[0-7]{1,2}/.exec(java.slice(i + 2))?.[0] ?? ""
          if (digits === "") throw new Unsupported("illegal octal escape \\0 (Java requires \\0 followed by octal digits)")
          out += `\\x${parseInt(digits, 8).toString(16).padStart(2, "0")}`
          i += 2 + digits.length
          continue
        }
        case "A":
          if (inClass) break
          out += "^"
          i += 2
          continue
        case "z":
          if (inClass) break
          out += "$"
          i += 2
          continue
        case "Z":
          if (inClass) break
          out += "(?=\\n?$)"
          i += 2
          continue
        case "G":
        case "X":
        case "R":
        case "N":
          throw new Unsupported(`\\${next} is not supported`)
      }
      // Everything else (\d \w \s \b \n \t \. \- \1 \k<name> ...) means the same in JS.
      out += java.slice(i, i + 2)
      i += 2
      continue
    }

    if (inClass) {
      if (c === "]" && wasClassStart) {
        out += "\\]"
      } else if (c === "]") {
        out += c
        inClass = false
      } else if (c === "[") {
        throw new Unsupported("nested character classes (union, e.g. [a-c[x-z]]) are not supported")
      } else if (c === "&" && java.charAt(i + 1) === "&") {
        throw new Unsupported("character class intersection (&&) is not supported")
      } else if (c === "^" && wasClassStart && out.endsWith("[")) {
        out += c
        classStart = true
      } else {
        out += c
      }
      i += 1
      continue
    }

    switch (c) {
      case "[":
        out += c
        inClass = true
        classStart = true
        i += 1
        continue
      case "(": {
        if (java.charAt(i + 1) === "?") {
          const rest = java.slice(i + 2)
          if (rest.startsWith(">")) throw new Unsupported("atomic groups (?>...) are not supported")
          if (/^[idmsuxU-]+[:)]/.test(rest)) {
            throw new Unsupported("inline flags such as (?i) are not supported")
          }
        }
        out += c
        i += 1
        continue
      }
      case "*":
      case "?":
      case "+":
        if (wasQuantifier && c === "+") {
          throw new Unsupported("possessive quantifiers (e.g. a*+, a++, a?+) are not supported")
        }
        out += c
        // `?` after a quantifier makes it lazy and ends the quantifier
        afterQuantifier = !(wasQuantifier && c === "?")
        i += 1
        continue
      case "{": {
        const quantifier = /^\{\d+(,\d*)?\}/.exec(java.slice(i))?.[0]
        if (quantifier !== undefined) {
          out += quantifier
          afterQuantifier = true
          i += quantifier.length
          continue
        }
        out += c
        i += 1
        continue
      }
      default:
        out += c
        i += 1
    }
  }
  return out
}

/** Parses `{Name}` or a single-letter name after `\p`/`\P`; `length` counts the chars consumed. */
const propertyName = (java: string, at: number): { name: string; length: number } => {
  if (java.charAt(at) === "{") {
    const close = java.indexOf("}", at + 1)
    if (close === -1) throw new Unsupported("unclosed \\p{...} character class")
    return { name: java.slice(at + 1, close), length: close - at + 1 }
  }
  const letter = java.charAt(at)
  if (letter === "" || isDigit(letter)) throw new Unsupported("malformed \\p character class")
  return { name: letter, length: 1 }
}
