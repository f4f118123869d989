/**
 * Kafka config providers in `mm2.properties` values (KIP-297, spec §1.9): `${provider:[path:]key}`
 * references, resolved once when the file is loaded, with the providers that the top-level
 * `config.providers` declares (`config.providers.<name>.class` plus `config.providers.<name>.param.*`).
 *
 * Kafka's three built-in providers are implemented, with Kafka's semantics:
 * - `FileConfigProvider`: `${file:/etc/mm2/secrets.properties:key}`, a key of a Java properties file;
 * - `DirectoryConfigProvider`: `${dir:/run/secrets:name}`, the whole content of the file `name`;
 * - `EnvVarConfigProvider`: `${env:NAME}`, an environment variable (param `allowlist.pattern`).
 * File and directory providers take Kafka's `allowed.paths` param.
 *
 * References are found with `ConfigTransformer`'s pattern (see `REFERENCE` for one difference) in
 * one pass (a resolved value is not scanned again). Every value is resolved, at every scope, except
 * the `config.providers*` declarations themselves, which Kafka also hands to the providers as written.
 *
 * Where Kafka silently keeps a reference it cannot resolve (provider not declared, no path, a
 * missing file, key, directory entry or variable, a path outside `allowed.paths`), this reports
 * an issue naming the key and the reference instead: otherwise a literal `${...}` would be sent
 * to a broker as a password. No message ever contains a resolved value.
 */
import { Either, ParseResult, Schema } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { compileFullMatch } from "../policy/JavaRegex.js"
import type { ConfigIssue } from "./ConfigError.js"
import { javaClass, splitList } from "./JavaValues.js"
import { CONFIG_PROVIDERS_KEY, isConfigProvidersKey } from "./KnownKeys.js"
import * as Properties from "./Properties.js"

export const FILE_CONFIG_PROVIDER = "org.apache.kafka.common.config.provider.FileConfigProvider"
export const DIRECTORY_CONFIG_PROVIDER = "org.apache.kafka.common.config.provider.DirectoryConfigProvider"
export const ENV_VAR_CONFIG_PROVIDER = "org.apache.kafka.common.config.provider.EnvVarConfigProvider"

/** The provider classes implemented here, by full class name (no Java class can be loaded). */
export const ProviderClass = Schema.Literal(FILE_CONFIG_PROVIDER, DIRECTORY_CONFIG_PROVIDER, ENV_VAR_CONFIG_PROVIDER)
export type ProviderClass = typeof ProviderClass.Type

/** `config.providers.<name>.class`: trimmed like Connect's CLASS type, then one of `ProviderClass`. */
const ProviderClassFromString = Schema.compose(
  javaClass(new Map(ProviderClass.literals.map((c) => [c, c])), "config provider class"),
  ProviderClass,
  { strict: false }
)

const ALLOWED_PATHS = "allowed.paths"
const ALLOWLIST_PATTERN = "allowlist.pattern"

/** The params each provider reads (Kafka ignores others; they get a warning here). */
const PROVIDER_PARAMS: ReadonlyMap<ProviderClass, ReadonlyArray<string>> = new Map([
  [FILE_CONFIG_PROVIDER, [ALLOWED_PATHS]],
  [DIRECTORY_CONFIG_PROVIDER, [ALLOWED_PATHS]],
  [ENV_VAR_CONFIG_PROVIDER, [ALLOWLIST_PATTERN]]
])

const classKey = (name: string): string => `${CONFIG_PROVIDERS_KEY}.${name}.class`
const paramKey = (name: string, param: string): string => `${CONFIG_PROVIDERS_KEY}.${name}.param.${param}`

/**
 * `ConfigTransformer.DEFAULT_PATTERN`, `\$\{(.*?):((.*?):)?(.*?)\}`: provider up to the first `:`,
 * an optional path up to the next, then the key up to the first `}` (`.` as in Java, which also
 * excludes U+0085). One deliberate difference: provider and path cannot run past a `}`. Kafka's
 * pattern reads `${env:A}:${env:B}` as one reference with path `A}` and key `${env:B`, and so never
 * resolves a reference without path that is followed by another one; here both resolve.
 */
const ANY = "[^\\n\\r\\u0085\\u2028\\u2029]"
const NO_BRACE = "[^}\\n\\r\\u0085\\u2028\\u2029]"
const REFERENCE = new RegExp(`\\$\\{(${NO_BRACE}*?):((${NO_BRACE}*?):)?(${ANY}*?)\\}`, "g")

/** One `${provider:[path:]key}` occurrence. */
export interface Reference {
  /** as written, e.g. `${file:/etc/mm2/secrets.properties:password}` */
  readonly text: string
  readonly provider: string
  /** `""` when the reference has none, as in Kafka */
  readonly path: string
  readonly key: string
}

// groups of REFERENCE: 1 provider, 2 path with its colon, 3 path, 4 key (an unmatched group is undefined)
const toReference = (text: string, provider?: string, path?: string, key?: string): Reference => ({
  text,
  provider: provider ?? "",
  path: path ?? "",
  key: key ?? ""
})

/** The references in `value`, in order. */
export const referencesIn = (value: string): ReadonlyArray<Reference> =>
  [...value.matchAll(REFERENCE)].map((m) => toReference(m[0], m[1], m[3], m[4]))

/** `value` with each reference replaced by `f` of it, in one pass. */
const replaceReferences = (value: string, f: (ref: Reference) => string): string =>
  value.replace(
    REFERENCE,
    (text: string, provider?: string, _withColon?: string, path?: string, key?: string) => f(toReference(text, provider, path, key))
  )

/** A provider: looks up one key at a path; a Left is the reason it failed, which never contains a value. */
type Provider = (path: string, key: string) => Either.Either<string, string>

const simpleName = (className: string): string => className.slice(className.lastIndexOf(".") + 1)

const errorText = (e: unknown): string => {
  const code = typeof e === "object" && e !== null && "code" in e ? String(e.code) : ""
  if (code === "ENOENT") return "no such file or directory"
  if (code === "EACCES") return "permission denied"
  return e instanceof Error ? e.message : String(e)
}

/** Kafka's `allowed.paths`: comma-separated, each absolute and existing; unset or empty = anywhere. */
const allowedPaths = (
  name: string,
  params: ReadonlyMap<string, string>,
  issues: Array<ConfigIssue>
): ReadonlyArray<string> | undefined => {
  const value = params.get(ALLOWED_PATHS)
  if (value === undefined || value === "") return undefined
  const paths: Array<string> = []
  for (const entry of value.split(",")) {
    const p = nodePath.normalize(entry.trim())
    if (!nodePath.isAbsolute(p)) issues.push({ key: paramKey(name, ALLOWED_PATHS), message: `path ${p} is not absolute` })
    else if (!fs.existsSync(p)) issues.push({ key: paramKey(name, ALLOWED_PATHS), message: `path ${p} does not exist` })
    else paths.push(p)
  }
  return paths
}

/**
 * Kafka's `AllowedPaths.parseUntrustedPath`: with `allowed.paths` set, the normalised path must lie
 * under one of them (whole path components, so `/a/bc` is not under `/a/b`), and is what is read.
 */
const checkedPath = (
  name: string,
  allowed: ReadonlyArray<string> | undefined,
  path: string
): Either.Either<string, string> => {
  if (allowed === undefined) return Either.right(path)
  const normalised = nodePath.normalize(path)
  const inside = allowed.some((root) => {
    const rel = nodePath.relative(root, normalised)
    return nodePath.isAbsolute(normalised) && !rel.startsWith("..") && !nodePath.isAbsolute(rel)
  })
  return inside
    ? Either.right(normalised)
    : Either.left(`${path} is not under ${paramKey(name, ALLOWED_PATHS)} (${allowed.join(", ")})`)
}

/** Memoises per argument: Kafka reads each provider path once per resolution too. */
const memo = <A extends object>(f: (arg: string) => A): (arg: string) => A => {
  const cache = new Map<string, A>()
  return (arg) => {
    const hit = cache.get(arg)
    if (hit !== undefined) return hit
    const a = f(arg)
    cache.set(arg, a)
    return a
  }
}

const noPath = (name: string, example: string): string => `the reference has no path; write \${${name}:${example}:<key>}`

/** `FileConfigProvider`: the key of a Java properties file (UTF-8, as Kafka reads it). */
const fileProvider = (name: string, params: ReadonlyMap<string, string>, issues: Array<ConfigIssue>): Provider => {
  const allowed = allowedPaths(name, params, issues)
  const load = memo((path: string): Either.Either<ReadonlyMap<string, string>, string> => {
    let text: string
    try {
      text = fs.readFileSync(path, "utf8")
    } catch (e) {
      return Either.left(`cannot read ${path}: ${errorText(e)}`)
    }
    // The parser's own reason quotes the bad escape, which may be part of a secret: give the line only.
    return Either.mapLeft(
      Properties.parseEither(text),
      () => `${path} is not a valid properties file: malformed \\uXXXX escape on line ${Properties.badUnicodeEscapeLine(text) ?? "?"}`
    )
  })
  return (path, key) => {
    if (path === "") return Either.left(noPath(name, "/path/to/file.properties"))
    return Either.flatMap(checkedPath(name, allowed, path), (file) =>
      Either.flatMap(load(file), (props) => {
        const value = props.get(key)
        return value === undefined ? Either.left(`${file} has no key ${JSON.stringify(key)}`) : Either.right(value)
      }))
  }
}

/** `DirectoryConfigProvider`: the whole content (UTF-8, nothing trimmed) of the regular file `key` in the directory. */
const directoryProvider = (name: string, params: ReadonlyMap<string, string>, issues: Array<ConfigIssue>): Provider => {
  const allowed = allowedPaths(name, params, issues)
  const directory = memo((path: string): Either.Either<string, string> => {
    try {
      return fs.statSync(path).isDirectory() ? Either.right(path) : Either.left(`${path} is not a directory`)
    } catch (e) {
      return Either.left(`cannot read directory ${path}: ${errorText(e)}`)
    }
  })
  return (path, key) => {
    if (path === "") return Either.left(noPath(name, "/path/to/directory"))
    // Kafka only matches names of entries of the directory itself, so `a/b` or `..` never match.
    if (key === "" || key === "." || key === ".." || /[/\\]/.test(key)) {
      return Either.left(`${JSON.stringify(key)} is not a file name`)
    }
    return Either.flatMap(Either.flatMap(checkedPath(name, allowed, path), directory), (dir) => {
      const file = nodePath.join(dir, key)
      try {
        // stat follows symlinks, like Files.isRegularFile (Kubernetes secret volumes are symlinks)
        if (!fs.statSync(file).isFile()) return Either.left(`${file} is not a regular file`)
        return Either.right(fs.readFileSync(file, "utf8"))
      } catch (e) {
        return Either.left(`cannot read ${file}: ${errorText(e)}`)
      }
    })
  }
}

/** `EnvVarConfigProvider`: a variable whose name fully matches `allowlist.pattern` (default `.*`). */
const envVarProvider = (
  name: string,
  params: ReadonlyMap<string, string>,
  issues: Array<ConfigIssue>,
  env: Readonly<Record<string, string | undefined>>
): Provider => {
  const pattern = params.get(ALLOWLIST_PATTERN)
  const allowlist = pattern === undefined ? undefined : compileFullMatch(pattern)
  if (allowlist !== undefined && Either.isLeft(allowlist)) {
    issues.push({
      key: paramKey(name, ALLOWLIST_PATTERN),
      message: `invalid regular expression ${JSON.stringify(pattern)}: ${allowlist.left}`
    })
  }
  return (path, key) => {
    if (path !== "") return Either.left(`EnvVarConfigProvider takes no path; write \${${name}:<VARIABLE>}`)
    if (allowlist !== undefined && Either.isRight(allowlist) && !allowlist.right.test(key)) {
      return Either.left(`environment variable ${key} does not match ${paramKey(name, ALLOWLIST_PATTERN)}`)
    }
    const value = env[key]
    return value === undefined ? Either.left(`environment variable ${key} is not set`) : Either.right(value)
  }
}

export interface ProviderOptions {
  /** Environment for `EnvVarConfigProvider`; `process.env` by default. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
}

/** What resolving a file's references gives. */
export interface Resolution {
  /** The file with every resolvable reference replaced; a failed one stays as written. */
  readonly values: ReadonlyMap<string, string>
  /** Keys (as written) whose value held references, with those references. */
  readonly references: ReadonlyMap<string, ReadonlyArray<string>>
  /** Keys with a reference that could not be resolved: their validation issues would be noise. */
  readonly unresolved: ReadonlySet<string>
  /** Bad declarations and unresolvable references. */
  readonly issues: ReadonlyArray<ConfigIssue>
  /** Declarations Kafka would ignore. */
  readonly warnings: ReadonlyArray<ConfigIssue>
}

/**
 * The providers `config.providers` lists, by name; `undefined` for a listed provider whose
 * declaration is broken (already reported, its references are not reported again).
 */
const declaredProviders = (
  raw: ReadonlyMap<string, string>,
  options: ProviderOptions,
  issues: Array<ConfigIssue>,
  warnings: Array<ConfigIssue>
): ReadonlyMap<string, Provider | undefined> => {
  const names = [...new Set(splitList(raw.get(CONFIG_PROVIDERS_KEY) ?? ""))]
  if (names.includes("")) issues.push({ key: CONFIG_PROVIDERS_KEY, message: "contains an empty provider name" })
  const listed = names.filter((n) => n !== "")
  const env = options.env ?? process.env
  const providers = new Map<string, Provider | undefined>()
  for (const name of listed) {
    const className = raw.get(classKey(name))
    if (className === undefined) {
      issues.push({
        key: classKey(name),
        message: `missing; config.providers lists ${name}, set this to one of ${ProviderClass.literals.join(", ")}`
      })
      providers.set(name, undefined)
      continue
    }
    const decoded = Schema.decodeEither(ProviderClassFromString)(className)
    if (Either.isLeft(decoded)) {
      const message = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0]?.message ?? decoded.left.message
      issues.push({ key: classKey(name), message })
      providers.set(name, undefined)
      continue
    }
    const prefix = `${CONFIG_PROVIDERS_KEY}.${name}.param.`
    const params = new Map([...raw].flatMap(([k, v]) => (k.startsWith(prefix) ? [[k.slice(prefix.length), v] as const] : [])))
    const known = PROVIDER_PARAMS.get(decoded.right) ?? []
    for (const param of params.keys()) {
      if (!known.includes(param)) {
        warnings.push({
          key: paramKey(name, param),
          message: `unknown parameter of ${simpleName(decoded.right)}, which reads only ${known.join(", ")}; ignored`
        })
      }
    }
    const before = issues.length
    const provider = decoded.right === FILE_CONFIG_PROVIDER
      ? fileProvider(name, params, issues)
      : decoded.right === DIRECTORY_CONFIG_PROVIDER
      ? directoryProvider(name, params, issues)
      : envVarProvider(name, params, issues, env)
    providers.set(name, issues.length === before ? provider : undefined)
  }
  // Declarations of names config.providers does not list: Kafka never instantiates them.
  for (const key of raw.keys()) {
    if (key === CONFIG_PROVIDERS_KEY || !isConfigProvidersKey(key)) continue
    const owner = listed.find((n) => key === classKey(n) || key.startsWith(`${CONFIG_PROVIDERS_KEY}.${n}.param.`))
    if (owner !== undefined) continue
    const underListed = listed.some((n) => key.startsWith(`${CONFIG_PROVIDERS_KEY}.${n}.`))
    warnings.push({
      key,
      message: underListed
        ? "unknown key; a provider is declared by config.providers.<name>.class and config.providers.<name>.param.*; ignored"
        : `not a provider listed in config.providers (${listed.length === 0 ? "not set" : listed.join(", ")}); ignored`
    })
  }
  return providers
}

/**
 * Resolves every `${provider:[path:]key}` of the file as read. Reads provider files, directories
 * and the environment; never fails, every problem is an issue.
 */
export const resolve = (raw: ReadonlyMap<string, string>, options: ProviderOptions = {}): Resolution => {
  const issues: Array<ConfigIssue> = []
  const warnings: Array<ConfigIssue> = []
  const providers = declaredProviders(raw, options, issues, warnings)
  const listed = [...providers.keys()]
  const values = new Map<string, string>()
  const references = new Map<string, ReadonlyArray<string>>()
  const unresolved = new Set<string>()
  for (const [key, value] of raw) {
    const refs = isConfigProvidersKey(key) ? [] : referencesIn(value)
    if (refs.length === 0) {
      values.set(key, value)
      continue
    }
    references.set(key, refs.map((r) => r.text))
    const resolved = replaceReferences(value, (ref) => {
      const fail = (reason: string | undefined): string => {
        unresolved.add(key)
        if (reason !== undefined) issues.push({ key, message: `cannot resolve ${ref.text}: ${reason}` })
        return ref.text
      }
      if (!providers.has(ref.provider)) {
        return fail(
          `no config provider ${JSON.stringify(ref.provider)} in config.providers (${listed.length === 0 ? "not set" : listed.join(", ")})`
        )
      }
      const lookup = providers.get(ref.provider)
      if (lookup === undefined) return fail(undefined) // its declaration is already reported
      return Either.match(lookup(ref.path, ref.key), { onLeft: fail, onRight: (v) => v })
    })
    values.set(key, resolved)
  }
  return { values, references, unresolved, issues, warnings }
}
