/**
 * Consumer-group operations of the kafkajs-backed admin that kafkajs's own admin cannot do:
 * the offsets of many groups in few requests (internal/groupRequests.ts), group states, and
 * commits that carry commit metadata (kafkajs's `setOffsets` drops it and joins the group as a
 * consumer). They run on a kafkajs Cluster of their own, made by the same Kafka instance as the
 * admin (same brokers, TLS, SASL), created on first use and disconnected with the admin.
 */
import type * as K from "kafkajs"
import {
  API_FIND_COORDINATOR,
  API_OFFSET_FETCH,
  type Coordinator,
  fetchGroupsOffsets,
  FIND_COORDINATOR_BATCHED_VERSION,
  findCoordinators,
  OFFSET_FETCH_BATCHED_VERSION,
  type RawRequest
} from "./internal/groupRequests.js"
import { kafkaErrorName, privateKafkaJsRequire } from "./internal/kafkajs.js"
import type { CommittedOffset, GroupDescription, GroupsOffsets } from "./KafkaClient.js"
import type { TopicPartitionOffset } from "./KafkaRecord.js"

/** Groups per FindCoordinator / OffsetFetch request: keeps each request and response small. */
const GROUPS_PER_REQUEST = 1_000

interface Broker {
  readonly versions: Record<number, { readonly minVersion: number; readonly maxVersion: number }> | null
  readonly connectionPool: { send<A>(request: RawRequest<A>): Promise<A> }
  offsetCommit(args: {
    groupId: string
    groupGenerationId: number
    memberId: string
    retentionTime?: number
    topics: ReadonlyArray<{ topic: string; partitions: ReadonlyArray<{ partition: number; offset: string; metadata: string | null }> }>
  }): Promise<unknown>
  describeGroups(args: { groupIds: ReadonlyArray<string> }): Promise<{
    groups: ReadonlyArray<{ groupId: string; state: string; protocolType: string; members: ReadonlyArray<unknown>; errorCode: number }>
  }>
}

interface Cluster {
  connect(): Promise<void>
  disconnect(): Promise<void>
  refreshMetadataIfNecessary(): Promise<void>
  getNodeIds(): ReadonlyArray<number>
  findBroker(args: { nodeId: number }): Promise<Broker>
  findGroupCoordinator(args: { groupId: string }): Promise<Broker>
}

interface Emitter {
  addListener(event: string, listener: () => void): () => void
}


/** kafkajs's Kafka instance keeps the factory of its clusters under a private symbol. */
const clusterFactory = (kafka: K.Kafka): (options: Record<string, unknown>) => Cluster => {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === "private:Kafka:createCluster")
  const factory = symbol === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[symbol]
  if (typeof factory !== "function") throw new Error("kafkajs changed: no private:Kafka:createCluster on its Kafka instance")
  return factory as (options: Record<string, unknown>) => Cluster
}

const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

const NO_ERROR = 0
const GROUP_ID_NOT_FOUND = 69

export interface KafkaJsGroups {
  readonly fetchOffsetsOfGroups: (
    groups: ReadonlyArray<string>,
    fallback: (group: string) => Promise<ReadonlyArray<CommittedOffset>>
  ) => Promise<GroupsOffsets>
  readonly describeGroups: (groups: ReadonlyArray<string>) => Promise<ReadonlyArray<GroupDescription>>
  readonly commit: (
    groupId: string,
    offsets: ReadonlyArray<TopicPartitionOffset & { readonly metadata?: string | null }>
  ) => Promise<void>
  /**
   * Sends one of our own requests (see internal/) to any broker, once the broker says it knows
   * that version of the API (fails as unsupported otherwise).
   */
  readonly sendToAnyBroker: <A>(request: RawRequest<A>) => Promise<A>
  /** Sends one of our own requests to the coordinator of `groupId` (found again after `forget`). */
  readonly sendToCoordinator: <A>(groupId: string, request: RawRequest<A>) => Promise<A>
  /** The coordinator moved or is gone: the next request finds it again. */
  readonly forgetCoordinator: () => void
  /** protocol requests sent by these operations so far */
  readonly requests: () => number
  readonly disconnect: () => Promise<void>
}

export const makeKafkaJsGroups = (kafka: K.Kafka): KafkaJsGroups => {
  const EmitterClass = privateKafkaJsRequire("instrumentation/emitter.js") as new () => Emitter
  const { NETWORK_REQUEST } = privateKafkaJsRequire("network/instrumentationEvents.js") as { NETWORK_REQUEST: string }
  let sent = 0
  let cluster: Promise<Cluster> | undefined
  let coordinator: Promise<Broker> | undefined
  let closed = false
  // operations running: one interrupted by its caller may still connect a broker after a
  // disconnect, so disconnecting waits for them and closes again
  const running = new Set<Promise<unknown>>()
  const tracked = <Args extends ReadonlyArray<unknown>, A>(f: (...args: Args) => Promise<A>) => (...args: Args): Promise<A> => {
    const p = f(...args)
    running.add(p)
    const done = () => running.delete(p)
    p.then(done, done)
    return p
  }
  const connected = (): Promise<Cluster> =>
    closed ? Promise.reject(new Error("disconnected")) : cluster ??= (async () => {
      const emitter = new EmitterClass()
      emitter.addListener(NETWORK_REQUEST, () => {
        sent++
      })
      const c = clusterFactory(kafka)({ allowAutoTopicCreation: false, instrumentationEmitter: emitter, metadataMaxAge: 300_000 })
      await c.connect()
      return c
    })().catch((e: unknown) => {
      cluster = undefined
      throw e
    })

  const anyBroker = async (c: Cluster): Promise<Broker> => {
    await c.refreshMetadataIfNecessary()
    const nodeId = c.getNodeIds()[0]
    if (nodeId === undefined) throw new Error("the cluster's metadata lists no broker")
    return c.findBroker({ nodeId })
  }

  const batched = (b: Broker): boolean =>
    (b.versions?.[API_FIND_COORDINATOR]?.maxVersion ?? -1) >= FIND_COORDINATOR_BATCHED_VERSION &&
    (b.versions?.[API_OFFSET_FETCH]?.maxVersion ?? -1) >= OFFSET_FETCH_BATCHED_VERSION

  const coordinatorsOf = async (c: Cluster, groups: ReadonlyArray<string>, failed: Array<{ group: string; detail: string }>) => {
    const broker = await anyBroker(c)
    const byNode = new Map<number, Array<string>>()
    for (const chunk of chunks(groups, GROUPS_PER_REQUEST)) {
      const found: ReadonlyArray<Coordinator> = await broker.connectionPool.send(findCoordinators(chunk))
      for (const f of found) {
        if (f.errorCode !== NO_ERROR) {
          failed.push({ group: f.key, detail: `no coordinator: ${kafkaErrorName(f.errorCode)}` })
          continue
        }
        let gs = byNode.get(f.nodeId)
        if (gs === undefined) byNode.set(f.nodeId, gs = [])
        gs.push(f.key)
      }
    }
    return byNode
  }

  const operations: Omit<KafkaJsGroups, "forgetCoordinator" | "requests" | "disconnect"> = {
    fetchOffsetsOfGroups: async (groups, fallback) => {
      const result = new Map<string, ReadonlyArray<CommittedOffset>>()
      const failed: Array<{ group: string; detail: string }> = []
      if (groups.length === 0) return { offsets: result, failed }
      const c = await connected()
      if (!batched(await anyBroker(c))) {
        // brokers before Kafka 3.0: one group per request, through kafkajs's admin
        for (const g of groups) {
          try {
            result.set(g, await fallback(g))
          } catch (e) {
            failed.push({ group: g, detail: e instanceof Error ? e.message : String(e) })
          }
        }
        return { offsets: result, failed }
      }
      const byNode = await coordinatorsOf(c, groups, failed)
      await Promise.all([...byNode].map(async ([nodeId, gs]) => {
        const broker = await c.findBroker({ nodeId })
        for (const chunk of chunks(gs, GROUPS_PER_REQUEST)) {
          for (const g of await broker.connectionPool.send(fetchGroupsOffsets(chunk))) {
            if (g.errorCode === GROUP_ID_NOT_FOUND) {
              result.set(g.groupId, [])
            } else if (g.errorCode !== NO_ERROR) {
              failed.push({ group: g.groupId, detail: kafkaErrorName(g.errorCode) })
            } else {
              result.set(
                g.groupId,
                g.topics.flatMap((t) =>
                  t.partitions
                    .filter((p) => p.errorCode === NO_ERROR)
                    .map((p) => ({ topic: t.topic, partition: p.partition, offset: String(p.offset), metadata: p.metadata }))
                )
              )
            }
          }
        }
      }))
      return { offsets: result, failed }
    },

    describeGroups: async (groups) => {
      if (groups.length === 0) return []
      const c = await connected()
      const failed: Array<{ group: string; detail: string }> = []
      const byNode = batched(await anyBroker(c)) ? await coordinatorsOf(c, groups, failed) : undefined
      const described: Array<GroupDescription> = []
      const describeOn = async (broker: Broker, ids: ReadonlyArray<string>) => {
        const { groups: gs } = await broker.describeGroups({ groupIds: ids })
        for (const g of gs) {
          described.push({ group: g.groupId, state: g.state, protocolType: g.protocolType, members: g.members.length })
        }
      }
      if (byNode === undefined) {
        for (const g of groups) await describeOn(await c.findGroupCoordinator({ groupId: g }), [g])
      } else {
        if (failed.length > 0) throw new Error(`cannot describe group ${failed[0]!.group}: ${failed[0]!.detail}`)
        await Promise.all([...byNode].map(async ([nodeId, ids]) => {
          const broker = await c.findBroker({ nodeId })
          for (const chunk of chunks(ids, GROUPS_PER_REQUEST)) await describeOn(broker, chunk)
        }))
      }
      return described
    },

    commit: async (groupId, offsets) => {
      if (offsets.length === 0) return
      const c = await connected()
      const byTopic = new Map<string, Array<{ partition: number; offset: string; metadata: string | null }>>()
      for (const o of offsets) {
        let ps = byTopic.get(o.topic)
        if (ps === undefined) byTopic.set(o.topic, ps = [])
        ps.push({ partition: o.partition, offset: o.offset, metadata: o.metadata ?? null })
      }
      const coordinator = await c.findGroupCoordinator({ groupId })
      // generation -1 and no member id: a commit from outside the group, which the broker
      // accepts only while the group has no members
      await coordinator.offsetCommit({
        groupId,
        groupGenerationId: -1,
        memberId: "",
        retentionTime: -1,
        topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions }))
      })
    },

    sendToAnyBroker: async <A>(raw: RawRequest<A>) => {
      const broker = await anyBroker(await connected())
      const { apiKey, apiVersion, apiName } = raw.request
      if ((broker.versions?.[apiKey]?.maxVersion ?? -1) < apiVersion) {
        const e = new Error(`the broker does not support ${apiName} v${apiVersion}`)
        e.name = "KafkaJSServerDoesNotSupportApiKey"
        throw e
      }
      return broker.connectionPool.send(raw)
    },

    sendToCoordinator: async <A>(groupId: string, raw: RawRequest<A>) => {
      const c = await connected()
      coordinator ??= c.findGroupCoordinator({ groupId }).catch((e: unknown) => {
        coordinator = undefined
        throw e
      })
      return (await coordinator).connectionPool.send(raw)
    }
  }

  return {
    fetchOffsetsOfGroups: tracked(operations.fetchOffsetsOfGroups),
    describeGroups: tracked(operations.describeGroups),
    commit: tracked(operations.commit),
    sendToAnyBroker: tracked(operations.sendToAnyBroker),
    sendToCoordinator: tracked(operations.sendToCoordinator),

    forgetCoordinator: () => {
      coordinator = undefined
    },

    requests: () => sent,

    disconnect: async () => {
      closed = true
      const c = await cluster?.catch(() => undefined)
      cluster = undefined
      if (c === undefined) return
      await c.disconnect()
      // their requests fail on the closed connections; a broker one of them connected since goes too
      if (running.size > 0) {
        await Promise.allSettled([...running])
        await c.disconnect()
      }
    }
  }
}
