import type { PeerInfo } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { MeshLibp2p } from './libp2p'
import type { PeerDirectory } from './peer-directory'

const MAX_ADDRESSES_PER_PROVIDER = 16

export interface ProviderIntake {
  libp2p: Pick<MeshLibp2p, 'peerId' | 'peerStore' | 'getConnections'>
  directory: Pick<PeerDirectory, 'get'>
  isWatched: (peerId: string) => boolean
  /** Starts watching a peer (its advert fetched from it); false if refused. */
  watch: (peerId: string) => boolean
}

/**
 * A provider named by a DHT lookup or by a peer (untrusted either way): keep a few of its addresses
 * and watch it, so it enters the table only once its own advert verifies. True if newly watched.
 */
export async function takeProvider(intake: ProviderIntake, provider: PeerInfo): Promise<boolean> {
  const { libp2p, directory } = intake
  const id = provider.id.toString()
  if (id === libp2p.peerId.toString()) return false
  const multiaddrs = provider.multiaddrs.slice(0, MAX_ADDRESSES_PER_PROVIDER)
  const watched = intake.isWatched(id)
  // a watched peer not reached yet: its record may carry the address that reaches it (its relay)
  if (multiaddrs.length > 0 && !(watched && directory.get(id)?.alive === true))
    await libp2p.peerStore.merge(provider.id, { multiaddrs })
  if (watched) return false
  if (intake.watch(id)) return true
  forgetAddresses(intake, id)
  return false
}

/** A dropped peer that never answered: keep no addresses for it (a DHT flood must not grow the peer store). */
export function forgetAddresses(
  { libp2p, directory }: Pick<ProviderIntake, 'libp2p' | 'directory'>,
  peerId: string
): void {
  const id = peerIdFromString(peerId)
  if (directory.get(peerId) !== undefined || libp2p.getConnections(id).length > 0) return
  libp2p.peerStore.delete(id).catch(() => {})
}
