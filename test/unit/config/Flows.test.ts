import { describe, expect, it } from "@effect/vitest"
import { BASE, invalidOf, settingsOf } from "./helpers.js"

const pairs = (text: string, clusters?: ReadonlyArray<string>) =>
  settingsOf(text, clusters).herderPairs.map((h) =>
    `${h.source}->${h.target}:${h.replicationEnabled ? "R" : "-"}${h.heartbeatsEnabled ? "H" : "-"}`
  )

describe("clusters", () => {
  it("splits on commas with blanks and collapses duplicates", () => {
    const s = settingsOf(`${BASE}clusters = primary ,backup,  primary\nprimary->backup.enabled = true\n`)
    expect(s.clusters).toEqual(["primary", "backup"])
  })

  it("is required", () => {
    const e = invalidOf("primary.bootstrap.servers = x\n")
    expect(e.issues.map((i) => i.key)).toEqual(["clusters"])
    expect(e.message).toMatch(/^mm2\.properties: clusters: missing/)
  })
})

describe("flow enablement", () => {
  it("uses Boolean.parseBoolean: any case of true, nothing else", () => {
    const text = `${BASE}emit.heartbeats.enabled = false\nprimary->backup.enabled = TrUe\nbackup->primary.enabled = yes\n`
    const s = settingsOf(text)
    expect(s.flows.map((f) => f.name)).toEqual(["primary->backup"])
  })

  it("reads 'true ' with a trailing blank as false, and warns", () => {
    const text = `${BASE}primary->backup.enabled = true \n`
    const s = settingsOf(text)
    expect(s.flows).toEqual([])
    expect(s.warnings.join("\n")).toMatch(/primary->backup\.enabled: "true " has surrounding blanks/)
  })

  it("warns about a value that is neither true nor false", () => {
    const s = settingsOf(`${BASE}primary->backup.enabled = yes\n`)
    expect(s.warnings.join("\n")).toMatch(/primary->backup\.enabled: "yes" is not true or false/)
  })

  it("creates a herder for every ordered pair while heartbeats are on (default)", () => {
    expect(pairs(`${BASE}primary->backup.enabled = true\n`)).toEqual(["primary->backup:RH", "backup->primary:-H"])
  })

  it("drops heartbeat-only pairs when heartbeats are off globally", () => {
    expect(pairs(`${BASE}emit.heartbeats.enabled = false\nprimary->backup.enabled = true\n`)).toEqual([
      "primary->backup:R-"
    ])
  })

  it("lets the flow-level heartbeat setting beat the global one", () => {
    const text = `${BASE}emit.heartbeats.enabled = false\nbackup->primary.emit.heartbeats.enabled = true\n`
    expect(pairs(text)).toEqual(["backup->primary:-H"])
  })

  it("does not consult the cluster-scoped heartbeat setting", () => {
    const text = `${BASE}primary.emit.heartbeats.enabled = false\nbackup.emit.heartbeats.enabled = false\n`
    expect(pairs(text)).toEqual(["primary->backup:-H", "backup->primary:-H"])
  })

  it("fails when there is neither a flow nor a heartbeat pair", () => {
    const e = invalidOf(`${BASE}emit.heartbeats.enabled = false\n`)
    expect(e.message).toBe("mm2.properties: No source->target replication flows.")
  })

  it("orders flows by clusters, source first", () => {
    const text = `clusters = a, b, c
a.bootstrap.servers = a:1
b.bootstrap.servers = b:1
c.bootstrap.servers = c:1
emit.heartbeats.enabled = false
c->a.enabled = true
a->c.enabled = true
b->a.enabled = true
a->b.enabled = true
`
    expect(settingsOf(text).flows.map((f) => f.name)).toEqual(["a->b", "a->c", "b->a", "c->a"])
  })
})

describe("--clusters filter", () => {
  const text = `${BASE}primary->backup.enabled = true\nbackup->primary.enabled = true\n`

  it("keeps only herders whose target is listed", () => {
    expect(pairs(text, ["backup"])).toEqual(["primary->backup:RH"])
    expect(pairs(text, ["primary"])).toEqual(["backup->primary:RH"])
    expect(pairs(text, [])).toHaveLength(2)
  })

  it("rejects an unknown alias", () => {
    const e = invalidOf(text, ["backup", "dr"])
    expect(e.issues).toEqual([{ key: "--clusters", message: 'unknown cluster alias "dr" (clusters = primary, backup)' }])
  })

  it("fails when the filter leaves nothing", () => {
    const t = `${BASE}emit.heartbeats.enabled = false\nprimary->backup.enabled = true\n`
    expect(invalidOf(t, ["primary"]).message).toContain("No source->target replication flows.")
  })
})

describe("bootstrap.servers", () => {
  it("is required for every cluster of a selected herder, naming the key", () => {
    const e = invalidOf("clusters = primary, backup\nprimary.bootstrap.servers = p:9092\nprimary->backup.enabled = true\n")
    expect(e.issues.map((i) => i.key)).toEqual(["backup.bootstrap.servers"])
    expect(e.message).toMatch(/^mm2\.properties: backup\.bootstrap\.servers: missing/)
  })

  it("is not required for a cluster the filter leaves out", () => {
    const text = `clusters = a, b, c
a.bootstrap.servers = a:1
b.bootstrap.servers = b:1
emit.heartbeats.enabled = false
a->b.enabled = true
c->a.enabled = true
`
    expect(settingsOf(text, ["b"]).flows.map((f) => f.name)).toEqual(["a->b"])
    expect(invalidOf(text).issues.map((i) => i.key)).toEqual(["c.bootstrap.servers"])
  })

  it("may come from the top level as a default", () => {
    const s = settingsOf("clusters = a, b\nbootstrap.servers = shared:9092\na->b.enabled = true\n")
    expect(s.flows[0]?.sourceConsumer.get("bootstrap.servers")).toBe("shared:9092")
  })
})
