// One kad-dht provider lookup, instrumented from its query events: how many hops (a peer learned from
// a response one hop away is two hops away), how many RPCs and how long until the first provider.
import type { PeerId } from '@libp2p/interface'
import type { QueryEvent } from '@libp2p/kad-dht'
import type { CID } from 'multiformats/cid'
import type { MeshLibp2p } from '../../electron/core/p2p/libp2p'

export interface LookupResult {
  /** Hops to the peer whose answer first named a provider; undefined when none was found. */
  hops?: number
  /** RPCs sent until the first provider was named. */
  rpcsToFirst?: number
  msToFirst?: number
  /** RPCs and time of the whole query (kad-dht keeps walking for more providers). */
  rpcs: number
  ms: number
  providers: number
}

export async function measureLookup(
  libp2p: MeshLibp2p,
  key: CID,
  options: { signal: AbortSignal }
): Promise<LookupResult> {
  const self = libp2p.peerId.toString()
  const depth = new Map<string, number>()
  const depthOf = (id: PeerId): number => depth.get(id.toString()) ?? 1
  const found = new Set<string>()
  const started = performance.now()
  const result: LookupResult = { rpcs: 0, ms: 0, providers: 0 }
  try {
    for await (const event of libp2p.services.dht.findProviders(key, options) as AsyncIterable<QueryEvent>) {
      if (event.name === 'SEND_QUERY') result.rpcs++
      if (event.name !== 'PEER_RESPONSE' && event.name !== 'PROVIDER') continue
      const from = event.from.toString()
      if (event.name === 'PEER_RESPONSE')
        for (const closer of event.closer) {
          const id = closer.id.toString()
          if (!depth.has(id)) depth.set(id, depthOf(event.from) + 1)
        }
      const named = event.providers.filter((p) => p.id.toString() !== self)
      if (named.length > 0 && result.hops === undefined) {
        // the node's own provider store answers at hop 0
        result.hops = from === self ? 0 : depthOf(event.from)
        result.rpcsToFirst = result.rpcs
        result.msToFirst = performance.now() - started
      }
      for (const p of named) found.add(p.id.toString())
    }
  } catch (err) {
    if (!options.signal.aborted) throw err
  }
  result.ms = performance.now() - started
  result.providers = found.size
  return result
}
