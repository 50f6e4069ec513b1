import type { PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { MAX_ADVERT_BYTES } from '../../../shared/advert'
import type { AbortOptions } from '../util/startable'
import type { Logger } from '../util/logger'
import type { MeshLibp2p } from './libp2p'
import { openStreamTo } from './reachability-connection'

export const ADVERT_PROTOCOL = '/meshwork/advert/1.0.0'
const HANDLER_TIMEOUT_MS = 5_000

/**
 * Serves this node's current signed advert: one length-prefixed frame, then close.
 * A node that serves nothing answers with an empty frame.
 */
export async function registerAdvertProtocol(
  libp2p: MeshLibp2p,
  currentEnvelope: () => Uint8Array | undefined,
  logger: Logger
): Promise<void> {
  await libp2p.handle(
    ADVERT_PROTOCOL,
    async (stream: Stream) => {
      const signal = AbortSignal.timeout(HANDLER_TIMEOUT_MS)
      try {
        const lp = lpStream(stream, { maxDataLength: MAX_ADVERT_BYTES })
        await lp.write(currentEnvelope() ?? new Uint8Array(0), { signal })
        await stream.close({ signal })
      } catch (err) {
        logger.debug('advert request failed', { err })
        stream.abort(err as Error)
      }
    },
    // a provider behind NAT is reached through a relay: its advert (a few KiB) must be fetchable there
    { maxInboundStreams: 64, runOnLimitedConnection: true }
  )
}

/** Fetches a peer's signed advert bytes; undefined when the peer serves nothing. */
export async function fetchAdvertBytes(
  libp2p: MeshLibp2p,
  peer: PeerId,
  options: AbortOptions = {}
): Promise<Uint8Array | undefined> {
  const signal = options.signal ?? AbortSignal.timeout(HANDLER_TIMEOUT_MS)
  const stream = await openStreamTo(libp2p, peer, ADVERT_PROTOCOL, { signal })
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_ADVERT_BYTES })
    const frame = await lp.read({ signal })
    await stream.close({ signal }).catch(() => {})
    return frame.byteLength === 0 ? undefined : frame.subarray()
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}
