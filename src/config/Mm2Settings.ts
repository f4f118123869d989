/**
 * The resolved, validated shape of an `mm2.properties` file.
 */
import type { FlowClients, FlowClientSettings } from "./ClientConfig.js"
import type { ConnectorSettings } from "./ConnectorSettings.js"

export type { ClientProps } from "./ClientConfig.js"

/** Everything one flow `source->target` needs; connector settings use MM2's defaults. */
export interface FlowSettings extends ConnectorSettings, FlowClients {
  readonly source: string
  readonly target: string
  /** `"source->target"` */
  readonly name: string
  /** `Boolean.parseBoolean(s->t.enabled)`: the source and checkpoint work run. */
  readonly replicationEnabled: boolean
  /** The herder emits heartbeats into `target` (spec §1.3; not the typed `emitHeartbeatsEnabled`). */
  readonly heartbeatsEnabled: boolean
  /**
   * `<target>.offset.flush.interval.ms`: longest time between progress commits. effect-mm2's
   * default is 5000 ms, not Connect's 60000.
   */
  readonly offsetFlushIntervalMs: number
  /** Every client of the flow, typed and checked at validation time. */
  readonly clients: FlowClientSettings
  /** The flow's connector config as MM2 derives it (spec §1.6), unresolved, without `name`/`connector.class`. */
  readonly raw: ReadonlyMap<string, string>
  /** The herder's Connect worker config as MM2 derives it (spec §1.5), unresolved. */
  readonly worker: ReadonlyMap<string, string>
}

export interface HerderSettings {
  readonly source: string
  readonly target: string
  readonly replicationEnabled: boolean
  readonly heartbeatsEnabled: boolean
  /** Settings of this pair, also for heartbeat-only herders (they need the target clients). */
  readonly settings: FlowSettings
}

export interface Mm2Settings {
  readonly file: string
  /** Aliases in file order, duplicates removed. */
  readonly clusters: ReadonlyArray<string>
  /** Replication-enabled flows after the `--clusters` filter, in `clusters` order (source-major). */
  readonly flows: ReadonlyArray<FlowSettings>
  /** Every herder (replication and/or heartbeats) after the `--clusters` filter, same order. */
  readonly herderPairs: ReadonlyArray<HerderSettings>
  /** Rendered `file: key: message` lines. */
  readonly warnings: ReadonlyArray<string>
  /** The whole file as read. */
  readonly properties: ReadonlyMap<string, string>
}
