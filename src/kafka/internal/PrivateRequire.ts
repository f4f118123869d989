/**
 * A CommonJS loader with a module cache of its own, for the files of one package.
 *
 * Why: we patch some of kafkajs's modules. Patching through Node's global `require.cache` leaks
 * the patches into every other kafkajs instance of the process, and does nothing when kafkajs
 * was loaded before us. A private cache scopes the patches to our instance whatever the order.
 *
 * Source files are evaluated with `vm.runInThisContext` in the main context, as Node's own
 * CommonJS loader does, so the code runs as fast as if required normally. Relative specifiers
 * resolve inside the package (`x`, `x.js`, `x.json`, `x/index.js`); bare ones (node builtins;
 * kafkajs 2.2.4 has no npm dependencies) go to Node's `require`, resolved from the package.
 */
import * as fs from "node:fs"
import Module from "node:module"
import * as path from "node:path"
import * as vm from "node:vm"

interface CommonJsModule {
  exports: unknown
}

type Require = (specifier: string) => unknown

/** What `Module.wrap` turns a source file into. */
type CommonJsWrapper = (
  this: unknown,
  exports: unknown,
  require: Require,
  module: CommonJsModule,
  __filename: string,
  __dirname: string
) => void

export interface PrivateRequire {
  /** The package's root directory (where its package.json is). */
  readonly root: string
  /** The exports of the package's file at `relativePath` (from the root), loading it privately if needed. */
  readonly require: (relativePath: string) => unknown
  /**
   * Puts `exports` into the private cache as the loaded module at `relativePath`, so the package's
   * own `require`s of that file get it. Throws if that file was already loaded (too late to replace).
   */
  readonly install: (relativePath: string, exports: unknown) => void
}

const isFile = (p: string): boolean => fs.statSync(p, { throwIfNoEntry: false })?.isFile() === true

const isRelative = (specifier: string): boolean =>
  specifier === "." || specifier === ".." || specifier.startsWith("./") || specifier.startsWith("../")

/** A private loader for the package `packageName`, as resolved from the file or directory `from`. */
export const makePrivateRequire = (packageName: string, from: string): PrivateRequire => {
  const manifest = Module.createRequire(from).resolve(`${packageName}/package.json`)
  const root = path.dirname(manifest)
  // bare specifiers resolve as they would for the package itself
  const outside = Module.createRequire(manifest)
  const cache = new Map<string, CommonJsModule>()
  const requires = new Map<string, Require>()

  const resolveFile = (base: string, directoryOnly: boolean): string => {
    const candidates = directoryOnly
      ? [path.join(base, "index.js"), path.join(base, "index.json")]
      : [base, `${base}.js`, `${base}.json`, path.join(base, "index.js"), path.join(base, "index.json")]
    const found = candidates.find(isFile)
    if (found === undefined) throw new Error(`Cannot find module '${base}' (private ${packageName} loader)`)
    // a relative require leaving the package would share nothing with it: not something to load privately
    if (path.relative(root, found).startsWith("..")) {
      throw new Error(`'${found}' is outside ${root} (private ${packageName} loader)`)
    }
    return found
  }

  const load = (filename: string): CommonJsModule => {
    const cached = cache.get(filename)
    if (cached !== undefined) return cached
    const module: CommonJsModule = { exports: {} }
    // cached before it runs, as in Node: a require cycle gets the partial exports, not a second copy
    cache.set(filename, module)
    try {
      const source = fs.readFileSync(filename, "utf8")
      if (filename.endsWith(".json")) {
        module.exports = JSON.parse(source)
      } else {
        const wrapper = vm.runInThisContext(Module.wrap(source), { filename }) as CommonJsWrapper
        const dirname = path.dirname(filename)
        let require = requires.get(dirname)
        if (require === undefined) requires.set(dirname, require = requireFrom(dirname))
        wrapper.call(module.exports, module.exports, require, module, filename, dirname)
      }
    } catch (e) {
      cache.delete(filename)
      throw e
    }
    return module
  }

  /**
   * The `require` handed to the files of one directory. kafkajs requires protocol versions inside
   * functions, once per request, so each specifier is resolved once and then found in a Map.
   */
  const requireFrom = (dirname: string): Require => {
    const seen = new Map<string, CommonJsModule>()
    return (specifier) => {
      let module = seen.get(specifier)
      if (module === undefined) {
        module = isRelative(specifier)
          ? load(resolveFile(path.resolve(dirname, specifier), specifier.endsWith("/")))
          : { exports: outside(specifier) }
        seen.set(specifier, module)
      }
      return module.exports
    }
  }

  const fromRoot = (relativePath: string): string => resolveFile(path.resolve(root, relativePath), false)

  return {
    root,
    require: (relativePath) => load(fromRoot(relativePath)).exports,
    install: (relativePath, exports) => {
      const filename = fromRoot(relativePath)
      if (cache.has(filename)) throw new Error(`${filename} is already loaded (private ${packageName} loader)`)
      cache.set(filename, { exports })
    }
  }
}
