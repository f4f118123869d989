import { defineConfig } from "vitest/config"

// Two projects: `unit` (pure logic, in-memory layers, no broker) and `integration`
// (real KRaft brokers started once per run by test/integration/globalSetup.ts).
export default defineConfig({
  test: {
    // CI has two cores, and the brokers need their share
    maxWorkers: 2,
    minWorkers: 1,
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node"
        }
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/integration/globalSetup.ts"],
          testTimeout: 180_000,
          hookTimeout: 240_000
        }
      }
    ]
  }
})
