import { describe, expect, it } from "@effect/vitest"
import { missingAcls, remoteAcls } from "../../../src/flow/TopicAcls.js"
import type { TopicAcl } from "../../../src/kafka/KafkaClient.js"

const acl = (topic: string, operation: TopicAcl["operation"], permission: TopicAcl["permission"], extra: Partial<TopicAcl> = {}): TopicAcl => ({
  topic,
  pattern: "literal",
  principal: "User:alice",
  host: "*",
  operation,
  permission,
  ...extra
})

const replicated = (t: string) => t !== "private"
const remote = (t: string) => `primary.${t}`

describe("TopicAcls (MM2's ACL sync rules)", () => {
  it("ALLOW ALL becomes ALLOW READ, ALLOW WRITE is dropped, DENY is kept, filtered and prefixed ACLs are not copied", () => {
    const source = [
      acl("orders", "all", "allow"),
      acl("orders", "write", "allow"),
      acl("orders", "write", "deny", { principal: "User:mallory" }),
      acl("orders", "all", "deny", { principal: "User:eve" }),
      acl("orders", "describe", "allow"),
      acl("private", "read", "allow"),
      acl("ord", "read", "allow", { pattern: "prefixed" }),
      acl("*", "read", "allow", { principal: "User:bob" })
    ]
    expect(remoteAcls(source, replicated, remote)).toEqual([
      acl("primary.orders", "read", "allow"),
      acl("primary.orders", "write", "deny", { principal: "User:mallory" }),
      acl("primary.orders", "all", "deny", { principal: "User:eve" }),
      acl("primary.orders", "describe", "allow"),
      acl("primary.*", "read", "allow", { principal: "User:bob" })
    ])
  })

  it("only ACLs the target lacks are created, once each", () => {
    const wanted = [acl("primary.orders", "read", "allow"), acl("primary.orders", "read", "allow"), acl("primary.orders", "describe", "allow")]
    expect(missingAcls(wanted, [acl("primary.orders", "read", "allow")])).toEqual([acl("primary.orders", "describe", "allow")])
  })
})
