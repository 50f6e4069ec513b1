import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from '../util/logger'
import type { AbortOptions } from '../util/startable'
import { openAdvert } from './advert-envelope'
import { fetchAdvertBytes } from './advert-protocol'
import type { MeshLibp2p } from './libp2p'
import type { PeerDirectory } from './peer-directory'
import type { RefreshOutcome } from './refresh-scheduler'

const FORGET_DEAD_AFTER_MS = 10 * 60_000

export interface AdvertRefreshComponents {
  libp2p: MeshLibp2p
  directory: PeerDirectory
  logger: Logger
}

/** One advert fetch from the peer itself: the only way into the directory. */
export async function refreshAdvert(
  { libp2p, directory, logger }: AdvertRefreshComponents,
  peerId: string,
  options: AbortOptions
): Promise<RefreshOutcome> {
  const entry = directory.get(peerId)
  if (entry !== undefined && !entry.alive && Date.now() - entry.lastSeen > FORGET_DEAD_AFTER_MS) return 'forget'
  const started = Date.now()
  let bytes: Uint8Array | undefined
  try {
    bytes = await fetchAdvertBytes(libp2p, peerIdFromString(peerId), options)
  } catch (err) {
    directory.recordFailure(peerId, 2)
    logger.debug('advert fetch failed', { peerId, err })
    return 'failed'
  }
  if (bytes === undefined) return 'serves-nothing' // a router-only peer: nothing to route to
  try {
    const advert = await openAdvert(bytes, { expectedSigner: peerId })
    const result = directory.accept(advert, { source: 'direct' })
    if (!result.accepted) {
      // the peer itself answered with an advert older than one gossip just brought: alive, nothing new
      const held = directory.get(peerId)
      if (held?.alive === true && advert.seq < held.advert.seq) return 'unchanged'
      logger.debug('advert not taken', { peerId, reason: result.reason })
      return 'rejected'
    }
    directory.recordRtt(peerId, Date.now() - started)
    return result.changed === true ? 'changed' : 'unchanged'
  } catch (err) {
    logger.warn('advert rejected', { peerId, reason: (err as Error).message })
    return 'rejected'
  }
}
