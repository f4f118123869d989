import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { ConfigError } from "../../../src/config/ConfigError.js"
import * as Properties from "../../../src/config/Properties.js"

describe("Properties.parse", () => {
  it("keeps an inline # as part of the value (comments only at line start)", () => {
    const props = Properties.parse("# comment\n  ! also a comment\nclusters = us-west, us-east   # defines cluster aliases\n")
    expect(props.get("clusters")).toBe("us-west, us-east   # defines cluster aliases")
    expect(props.size).toBe(1)
  })

  it("strips leading value whitespace and keeps trailing whitespace", () => {
    const props = Properties.parse("a =    value  \nb:x\nc y\n")
    expect(props.get("a")).toBe("value  ")
    expect(props.get("b")).toBe("x")
    expect(props.get("c")).toBe("y")
  })

  it("joins continuation lines, dropping the continuation's leading blanks", () => {
    const props = Properties.parse("topics = orders, \\\n    payments,\\\n  audit\n")
    expect(props.get("topics")).toBe("orders, payments,audit")
  })

  it("processes escapes in keys and values", () => {
    const props = Properties.parse("my\\ key\\:x = \\u0041\\tB\\\\C\nhash = \\#not-a-comment\n")
    expect(props.get("my key:x")).toBe("A\tB\\C")
    expect(props.get("hash")).toBe("#not-a-comment")
  })

  it("lets the last duplicate win and handles CRLF and a key without value", () => {
    const props = Properties.parse("a=1\r\na=2\r\nempty\r\n")
    expect(props.get("a")).toBe("2")
    expect(props.get("empty")).toBe("")
  })
})

describe("Properties.read", () => {
  const dir = mkdtempSync(join(tmpdir(), "mm2-props-"))

  it.effect("reads a file", () =>
    Effect.gen(function*() {
      const file = join(dir, "ok.properties")
      writeFileSync(file, "clusters = a, b\na.bootstrap.servers = localhost:9092\n")
      const props = yield* Properties.read(file)
      expect(props.get("a.bootstrap.servers")).toBe("localhost:9092")
    }))

  it.effect("fails with a ConfigError naming a missing file", () =>
    Effect.gen(function*() {
      const file = join(dir, "missing.properties")
      const exit = yield* Effect.exit(Properties.read(file))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = yield* Effect.flip(Properties.read(file))
      expect(error).toBeInstanceOf(ConfigError)
      expect(error._tag).toBe("ConfigError")
      expect(error.file).toBe(file)
      expect(error.line).toContain(file)
      expect(error.message).toContain("ENOENT")
    }))

  it.effect("fails with a ConfigError naming the file and line of a malformed \\u escape", () =>
    Effect.gen(function*() {
      const file = join(dir, "escape.properties")
      writeFileSync(file, "# a \\uXYZ in a comment is fine\nclusters = a, b\na.note = C:\\\\users\\\\u1\nb.bootstrap.servers = x\\uZZZZ:9092\n")
      const error = yield* Effect.flip(Properties.read(file))
      expect(error.line).toBe(`${file}: malformed properties file: line 4: malformed escaped unicode characters '\\uZZZZ'`)
    }))
})
