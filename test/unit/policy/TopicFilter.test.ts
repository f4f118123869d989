import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import * as JavaRegex from "../../../src/policy/JavaRegex.js"
import * as TopicFilter from "../../../src/policy/TopicFilter.js"

const filter = (include: ReadonlyArray<string>, exclude: ReadonlyArray<string> = []) =>
  Either.getOrThrow(TopicFilter.make({ include, exclude }))

const error = (result: Either.Either<TopicFilter.NameFilter, TopicFilter.InvalidTopicPattern>) => {
  if (Either.isRight(result)) throw new Error("expected an InvalidTopicPattern")
  return result.left
}

describe("TopicFilter.make (spec §3.5)", () => {
  it("full-match semantics", () => {
    const f = filter(["orders"])
    expect(f.shouldReplicate("orders")).toBe(true)
    expect(f.shouldReplicate("orders2")).toBe(false)
    expect(f.shouldReplicate("my-orders")).toBe(false)
    const g = filter(["orders.*", "payments"])
    expect(g.shouldReplicate("orders-eu")).toBe(true)
    expect(g.shouldReplicate("payments")).toBe(true)
    expect(g.shouldReplicate("payments2")).toBe(false)
    // alternation inside one element stays anchored as a whole
    const h = filter(["a|b"])
    expect(h.shouldReplicate("a")).toBe(true)
    expect(h.shouldReplicate("ab")).toBe(false)
  })

  it("an empty include list matches nothing; an empty exclude list excludes nothing", () => {
    const none = filter([], [])
    expect(none.shouldReplicate("orders")).toBe(false)
    expect(none.isIncluded("")).toBe(false)
    const all = filter([".*"], [])
    expect(all.shouldReplicate("__consumer_offsets")).toBe(true)
    expect(all.isExcluded("anything")).toBe(false)
  })

  it("exclude wins over include", () => {
    const f = filter(["orders.*"], ["orders-secret"])
    expect(f.shouldReplicate("orders-eu")).toBe(true)
    expect(f.shouldReplicate("orders-secret")).toBe(false)
    expect(f.isIncluded("orders-secret")).toBe(true)
    expect(f.isExcluded("orders-secret")).toBe(true)
  })

  it("default topic excludes", () => {
    const f = Either.getOrThrow(TopicFilter.makeTopicFilter())
    expect(f.include).toEqual([".*"])
    expect(f.exclude).toEqual([".*[\\-\\.]internal", ".*\\.replica", "__.*"])
    for (const excluded of ["foo-internal", "foo.internal", "x.replica", "__consumer_offsets", "__x"]) {
      expect(f.shouldReplicate(excluded), excluded).toBe(false)
    }
    for (const kept of ["orders", "foo_internal", "internal", "xreplica", "x.replica2", "_x", "A.orders", "heartbeats"]) {
      expect(f.shouldReplicate(kept), kept).toBe(true)
    }
  })

  it("default group filter", () => {
    const f = Either.getOrThrow(TopicFilter.makeGroupFilter())
    expect(f.shouldReplicate("app")).toBe(true)
    expect(f.shouldReplicate("console-consumer-123")).toBe(false)
    expect(f.shouldReplicate("connect-mm2")).toBe(false)
    expect(f.shouldReplicate("__x")).toBe(false)
    const bad = TopicFilter.makeGroupFilter({ exclude: ["("] })
    expect(error(bad).key).toBe("groups.exclude")
  })

  it("an invalid regex names the key and the pattern", () => {
    const inc = error(TopicFilter.make({ include: ["ok", "bad(", "fine"], exclude: [] }))
    expect(inc._tag).toBe("InvalidTopicPattern")
    expect(inc.key).toBe("topics")
    expect(inc.pattern).toBe("bad(")
    expect(inc.message).toContain("topics")
    expect(inc.message).toContain("bad(")
    const exc = error(TopicFilter.make({ include: [".*"], exclude: ["[a-"] }))
    expect(exc.key).toBe("topics.exclude")
    expect(exc.pattern).toBe("[a-")
  })

  it("flow-scoped keys are reported when given", () => {
    const e = error(
      TopicFilter.make({ include: ["*"], exclude: [], includeKey: "A->B.topics", excludeKey: "A->B.topics.exclude" })
    )
    expect(e.key).toBe("A->B.topics")
    const x = error(
      TopicFilter.make({ include: [".*"], exclude: ["a)"], includeKey: "A->B.topics", excludeKey: "A->B.topics.exclude" })
    )
    expect(x.key).toBe("A->B.topics.exclude")
  })

  it("an unbalanced ')' cannot escape the anchoring", () => {
    expect(Either.isLeft(TopicFilter.make({ include: ["a)|(b"], exclude: [] }))).toBe(true)
  })

  it("like Java, compiles the joined list (a group may span elements)", () => {
    const f = filter(["(a", "b)"])
    expect(f.shouldReplicate("a")).toBe(true)
    expect(f.shouldReplicate("b")).toBe(true)
  })

  it("rejects Java-only syntax with a clear reason", () => {
    const possessive = error(TopicFilter.make({ include: ["a*+"], exclude: [] }))
    expect(possessive.key).toBe("topics")
    expect(possessive.reason).toContain("possessive")
    const javaClass = error(TopicFilter.make({ include: ["\\p{javaLowerCase}+"], exclude: [] }))
    expect(javaClass.reason).toContain("javaLowerCase")
    expect(javaClass.pattern).toBe("\\p{javaLowerCase}+")
  })

  it("translates cheap Java syntax", () => {
    const f = filter(["\\p{Lower}+", "\\Qa.b\\E", "\\Aq\\z", "[\\p{Digit}x]+"])
    expect(f.shouldReplicate("orders")).toBe(true)
    expect(f.shouldReplicate("Orders")).toBe(false)
    expect(f.shouldReplicate("a.b")).toBe(true)
    expect(f.shouldReplicate("aXb")).toBe(false)
    expect(f.shouldReplicate("q")).toBe(true)
    expect(f.shouldReplicate("12x3")).toBe(true)
  })
})

describe("JavaRegex.toJsSource", () => {
  const ok = (java: string) => Either.getOrThrow(JavaRegex.toJsSource(java))
  const reason = (java: string) => {
    const r = JavaRegex.toJsSource(java)
    if (Either.isRight(r)) throw new Error(`expected rejection of ${java}`)
    return r.left
  }

  it("leaves common syntax alone", () => {
    for (const src of [".*", ".*[\\-\\.]internal", "__.*", "a{1,3}?", "(?:a|b)+", "(?<n>x)\\k<n>", "[^a-z]", "\\d+\\w*\\s?"]) {
      expect(ok(src)).toBe(src)
    }
  })

  it("translates", () => {
    expect(ok("\\Qa.b*\\E")).toBe("a\\.b\\*")
    expect(ok("\\Qa.b")).toBe("a\\.b")
    expect(ok("\\p{Alpha}")).toBe("[a-zA-Z]")
    expect(ok("\\P{Digit}")).toBe("[^0-9]")
    expect(ok("[\\p{Upper}_]")).toBe("[A-Z_]")
    expect(ok("\\x{41}")).toBe("\\u0041")
    expect(ok("\\0101")).toBe("\\x41")
    expect(ok("[]a]")).toBe("[\\]a]")
    expect(ok("[^]a]")).toBe("[^\\]a]")
    expect(ok("\\e")).toBe("\\x1B")
  })

  it("rejects what JS cannot express the same way", () => {
    expect(reason("a++")).toContain("possessive")
    expect(reason("a?+")).toContain("possessive")
    expect(reason("a{2}+")).toContain("possessive")
    expect(reason("(a)*+")).toContain("possessive")
    expect(reason("\\p{javaUpperCase}")).toContain("Java-only")
    expect(reason("\\p{L}")).toContain("Unicode")
    expect(reason("\\p{IsLatin}")).toContain("Unicode")
    expect(reason("(?>a)")).toContain("atomic")
    expect(reason("(?i)orders")).toContain("inline flags")
    expect(reason("[a-z&&[^b]]")).toBeDefined()
    expect(reason("[a[b]]")).toContain("nested")
    expect(reason("[\\P{Digit}]")).toContain("negated")
  })

  it("keeps lazy quantifiers", () => {
    expect(ok("a+?b")).toBe("a+?b")
    expect(ok("a??")).toBe("a??")
  })
})
