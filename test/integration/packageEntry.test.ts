/**
 * The package as a host installs it: `import ... from "effect-mm2"` resolves through the
 * `exports` map to the built entry (dist/, with its type declarations), and nothing else of
 * the package can be imported. Installed as a symlink in a temporary project (as `npm link`
 * does); needs `npm run build` first, like the other tests that run dist/.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const run = promisify(execFile)
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")

describe("the package entry", () => {
  let host = ""
  beforeAll(async () => {
    host = await fs.mkdtemp(path.join(os.tmpdir(), "effect-mm2-host-"))
    await fs.mkdir(path.join(host, "node_modules"))
    await fs.symlink(REPO_ROOT, path.join(host, "node_modules", "effect-mm2"), "dir")
    // the host's own Effect (the one effect-mm2 was built against)
    await fs.symlink(path.join(REPO_ROOT, "node_modules", "effect"), path.join(host, "node_modules", "effect"), "dir")
    await fs.writeFile(path.join(host, "package.json"), JSON.stringify({ name: "host", type: "module", private: true }))
  })
  afterAll(() => fs.rm(host, { recursive: true, force: true }))

  it("resolves `effect-mm2` to the public API, and internals are not importable", async () => {
    const probe = path.join(host, "probe.mjs")
    await fs.writeFile(
      probe,
      `const api = await import("effect-mm2")
let internal = "importable"
try { await import("effect-mm2/dist/flow/Flow.js") } catch (e) { internal = e.code }
console.log(JSON.stringify({ names: Object.keys(api).sort(), layer: typeof api.Mm2.layerFromProperties, internal }))
`
    )
    const { stdout } = await run(process.execPath, [probe], { cwd: host })
    const out = JSON.parse(stdout) as { names: Array<string>; layer: string; internal: string }
    expect(out.names).toEqual(expect.arrayContaining([
      "Mm2",
      "Mm2Config",
      "Replicator",
      "NoSuchFlow",
      "TaskState",
      "FlowsFailed",
      "ConfigError",
      "InvalidConfig",
      "KafkaError",
      "DefaultReplicationPolicy",
      "IdentityReplicationPolicy",
      "MirrorClient",
      "RemoteTopology",
      "GroupTranslation"
    ]))
    // internals of the replicator are not part of the API
    for (const internal of ["SourceReader", "TargetWriter", "ReplicationLog", "Flow", "FlowContext", "RemoteTopics"]) {
      expect(out.names).not.toContain(internal)
    }
    expect(out.layer).toBe("function")
    expect(out.internal).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED")
  })

  it("gives a host's TypeScript the declarations of that API", async () => {
    await fs.writeFile(
      path.join(host, "host.ts"),
      `import { Effect } from "effect"
import { Mm2, Replicator, type TaskStatus } from "effect-mm2"

export const program: Effect.Effect<ReadonlyArray<TaskStatus>, unknown> = Effect.gen(function*() {
  const replicator = yield* Replicator
  yield* replicator.awaitReady
  yield* replicator.stopFlow("primary->backup")
  return yield* replicator.tasks
}).pipe(Effect.provide(Mm2.layerFromFile("mm2.properties")))
`
    )
    await fs.writeFile(
      path.join(host, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true, skipLibCheck: true, types: [] },
        files: ["host.ts"]
      })
    )
    const tsc = path.join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc")
    const result = await run(process.execPath, [tsc, "-p", host]).then(
      () => "ok",
      (e: { stdout?: string }) => e.stdout ?? String(e)
    )
    expect(result).toBe("ok")
  }, 60_000)
})
