import { passthroughMapper, removePrivateAddressesMapper } from '@libp2p/kad-dht'
import type { PeerInfo } from '@libp2p/interface'
import type { Config } from '../config'

export type AddressScope = 'public' | 'lan' | 'loopback'

function isLoopbackAddr(addr: PeerInfo['multiaddrs'][number]): boolean {
  const text = addr.toString()
  return text.startsWith('/ip4/127.') || text.startsWith('/ip6/::1/')
}

/** LAN: keep public and private addresses, drop loopback (it only ever means "myself" to a remote). */
function removeLoopbackMapper(peer: PeerInfo): PeerInfo {
  return { ...peer, multiaddrs: peer.multiaddrs.filter((a) => !isLoopbackAddr(a)) }
}

/**
 * kad-dht's default mapper strips private and loopback addresses (tuned for the public IPFS DHT),
 * so a mesh on a LAN or on 127.0.0.1 would find nobody. The scope decides what the DHT keeps.
 */
export function resolveAddressScope(config: Pick<Config, 'addressScope' | 'p2pHost' | 'bootstrap'>): AddressScope {
  if (config.addressScope !== 'auto') return config.addressScope
  const loopback = config.p2pHost.startsWith('127.') || config.bootstrap.some((b) => b.startsWith('/ip4/127.'))
  return loopback ? 'loopback' : 'lan'
}

export function peerInfoMapperFor(scope: AddressScope): (peer: PeerInfo) => PeerInfo {
  if (scope === 'public') return removePrivateAddressesMapper
  if (scope === 'lan') return removeLoopbackMapper
  return passthroughMapper
}
