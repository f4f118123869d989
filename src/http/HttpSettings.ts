/**
 * Where the HTTP server listens. Apart from the server itself (HttpServer.ts), which is loaded
 * only when one is asked for: its HTTP stack costs tens of MiB of memory at start.
 */
export const DEFAULT_HOST = "127.0.0.1"

export interface HttpSettings {
  readonly port: number
  readonly host: string
}
