// Values test/integration/globalSetup.ts hands to every integration test via inject().
import "vitest"

declare module "vitest" {
  export interface ProvidedContext {
    /** `127.0.0.1:<port>` of the source cluster ("primary") */
    primaryBootstrap: string
    /** `127.0.0.1:<port>` of the target cluster ("backup") */
    backupBootstrap: string
    /** Kafka release both brokers run */
    kafkaVersion: string
  }
}
