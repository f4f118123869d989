/**
 * `sasl.jaas.config` values, parsed with the grammar Kafka's JaasConfig accepts:
 *
 *   LoginModuleClass ControlFlag (optionName=optionValue)* ;
 *
 * with values quoted ("...", backslash escapes) or bare words, and `//` and `/* *\/` comments.
 * Kafka requires exactly one login module in this key. Errors never repeat option values, nor
 * any other text of the line except well-known module and option names: the line usually holds a
 * password, and a malformed one (an unquoted `;` or blank in the password, a bare password
 * pasted in) puts pieces of it where a module or option name is expected.
 */
import { Either } from "effect"

export interface JaasEntry {
  readonly loginModule: string
  readonly flag: "required" | "requisite" | "sufficient" | "optional"
  readonly options: ReadonlyMap<string, string>
}

type Token =
  | { readonly kind: "word"; readonly text: string }
  | { readonly kind: "quoted"; readonly text: string }
  | { readonly kind: "="; readonly text: "=" }
  | { readonly kind: ";"; readonly text: ";" }

const FLAGS: ReadonlyArray<JaasEntry["flag"]> = ["required", "requisite", "sufficient", "optional"]

const KNOWN_MODULES: ReadonlySet<string> = new Set(
  [
    "org.apache.kafka.common.security.plain.PlainLoginModule",
    "org.apache.kafka.common.security.scram.ScramLoginModule",
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule",
    "com.sun.security.auth.module.Krb5LoginModule"
  ].flatMap((c) => [c, c.slice(c.lastIndexOf(".") + 1)])
)
const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  "username",
  "password",
  "tokenauth",
  "clientId",
  "clientSecret",
  "scope",
  "unsecuredLoginStringClaim_sub",
  "useKeyTab",
  "storeKey",
  "keyTab",
  "principal",
  "serviceName",
  "useTicketCache",
  "debug"
])

/** Names fit for an error message: only ones that cannot be a piece of a secret. */
const moduleLabel = (name: string): string => (KNOWN_MODULES.has(name) ? name : "the login module")
const optionLabel = (name: string, position: number): string =>
  KNOWN_OPTIONS.has(name) ? name : `#${position} (name not shown)`

const tokenize = (text: string): Either.Either<ReadonlyArray<Token>, string> => {
  const tokens: Array<Token> = []
  let i = 0
  while (i < text.length) {
    const c = text.charAt(i)
    if (/\s/.test(c)) {
      i++
    } else if (text.startsWith("//", i)) {
      const end = text.indexOf("\n", i)
      i = end === -1 ? text.length : end + 1
    } else if (text.startsWith("/*", i)) {
      const end = text.indexOf("*/", i + 2)
      if (end === -1) return Either.left("unterminated /* comment")
      i = end + 2
    } else if (c === "=" || c === ";") {
      tokens.push(c === "=" ? { kind: "=", text: "=" } : { kind: ";", text: ";" })
      i++
    } else if (c === "\"" || c === "'") {
      let value = ""
      let j = i + 1
      while (j < text.length && text.charAt(j) !== c) {
        if (text.charAt(j) === "\\" && j + 1 < text.length) j++
        value += text.charAt(j)
        j++
      }
      if (j >= text.length) return Either.left("a quoted value is not closed")
      tokens.push({ kind: "quoted", text: value })
      i = j + 1
    } else {
      let j = i
      while (j < text.length && !/[\s=;"']/.test(text.charAt(j)) && !text.startsWith("//", j) && !text.startsWith("/*", j)) j++
      tokens.push({ kind: "word", text: text.slice(i, j) })
      i = j
    }
  }
  return Either.right(tokens)
}

/** Parses one `sasl.jaas.config` value; the Left is a reason fit to follow the key name. */
export const parse = (text: string): Either.Either<JaasEntry, string> =>
  Either.flatMap(tokenize(text), (tokens) => {
    const entries: Array<JaasEntry> = []
    let i = 0
    while (i < tokens.length) {
      const module = tokens[i]
      if (module?.kind !== "word") return Either.left("expected a login module class name at the start of an entry")
      const flagToken = tokens[i + 1]
      const flag = FLAGS.find((f) => f === flagToken?.text.toLowerCase())
      if (flagToken?.kind !== "word" || flag === undefined) {
        return Either.left(`expected a control flag (${FLAGS.join(", ")}) after ${moduleLabel(module.text)}`)
      }
      i += 2
      const options = new Map<string, string>()
      for (;;) {
        const t = tokens[i]
        if (t === undefined) return Either.left(`the entry for ${moduleLabel(module.text)} does not end with ';'`)
        if (t.kind === ";") {
          i++
          break
        }
        if (t.kind !== "word") return Either.left(`expected an option name in the entry for ${moduleLabel(module.text)}`)
        const option = optionLabel(t.text, options.size + 1)
        if (tokens[i + 1]?.kind !== "=") return Either.left(`option ${option} has no '=value'`)
        const value = tokens[i + 2]
        if (value === undefined || (value.kind !== "word" && value.kind !== "quoted")) {
          return Either.left(`option ${option} has no value`)
        }
        options.set(t.text, value.text)
        i += 3
      }
      entries.push({ loginModule: module.text, flag, options })
    }
    if (entries.length !== 1) return Either.left(`must contain exactly one login module, found ${entries.length}`)
    return Either.right(entries[0]!)
  })
