import { Either } from "effect"
import type { InvalidConfig } from "../../../src/config/ConfigError.js"
import { type Mm2Settings, resolve } from "../../../src/config/Mm2Config.js"
import * as Properties from "../../../src/config/Properties.js"

export const FILE = "mm2.properties"

/** Two clusters with bootstrap servers, nothing enabled yet. */
export const BASE = `
clusters = primary, backup
primary.bootstrap.servers = primary:9092
backup.bootstrap.servers = backup:9092
`

export const resolveText = (text: string, clusters?: ReadonlyArray<string>): Either.Either<Mm2Settings, InvalidConfig> =>
  resolve(Properties.parse(text), { file: FILE, clusters })

export const settingsOf = (text: string, clusters?: ReadonlyArray<string>): Mm2Settings =>
  Either.getOrThrowWith(resolveText(text, clusters), (e) => new Error(`unexpected InvalidConfig:\n${e.message}`))

export const invalidOf = (text: string, clusters?: ReadonlyArray<string>): InvalidConfig =>
  Either.match(resolveText(text, clusters), {
    onLeft: (e) => e,
    onRight: () => {
      throw new Error("expected InvalidConfig")
    }
  })

export const flowOf = (settings: Mm2Settings, name: string) => {
  const flow = settings.herderPairs.find((h) => h.settings.name === name)?.settings
  if (flow === undefined) throw new Error(`no herder ${name}`)
  return flow
}
