/**
 * Vitest globalSetup of the `integration` project: starts the two real Kafka clusters ONCE per
 * run (a JVM start costs seconds; every test file shares them) and provides their bootstrap
 * addresses. The Effect scope holding both brokers is closed by the returned teardown, which
 * stops the JVMs and deletes their run dirs.
 */
import { Effect, Exit, Scope } from "effect"
import type { TestProject } from "vitest/node"
import { TestClusters } from "../../harness/index.js"

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const scope = Effect.runSync(Scope.make())
  const t0 = Date.now()
  const pair = await Effect.runPromise(
    TestClusters.makePair().pipe(
      Scope.extend(scope),
      // Scope.extend leaves the scope open on failure; close it so a half-started pair is stopped
      Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
    )
  )
  const { primary, backup } = pair
  project.provide("primaryBootstrap", primary.bootstrapServers)
  project.provide("backupBootstrap", backup.bootstrapServers)
  project.provide("kafkaVersion", primary.version)
  console.log(
    `[kafka] ${primary.version} primary=${primary.bootstrapServers} backup=${backup.bootstrapServers} (ready in ${Date.now() - t0} ms)`
  )
  return async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}
