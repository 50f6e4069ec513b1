import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../util/logger'
import type { MeshLibp2p } from './libp2p'

/** libp2p's own dial timeout: a node with no connection has nothing better to do, and on a loaded
 * machine a handshake with a busy bootstrap peer takes seconds. */
const BOOTSTRAP_DIAL_TIMEOUT_MS = 10_000

/** After a failed re-join the next try comes this soon: a dial that timed out on a loaded machine has
 * already waited libp2p's per-address timeout, and a node with no connection has nothing else to do. */
export const REJOIN_RETRY_MS = 1_000

/**
 * @libp2p/bootstrap dials its list once. If that dial fails (the peer is busy, not up yet, or
 * rate-limits inbound connections) the node would stay alone for good, so while it has no
 * connection discovery dials the list again on every round.
 */
export class BootstrapRejoin {
  private aloneWarned = false

  constructor(
    private readonly libp2p: MeshLibp2p,
    private readonly bootstrap: string[],
    private readonly logger: Logger
  ) {}

  /** Dials the bootstrap list; true when the node has a connection afterwards. */
  async dial(stop: AbortSignal): Promise<boolean> {
    const { libp2p, logger } = this
    if (this.bootstrap.length === 0) return false
    const signal = AbortSignal.any([stop, AbortSignal.timeout(BOOTSTRAP_DIAL_TIMEOUT_MS)])
    await Promise.all(
      this.bootstrap.map((addr) =>
        libp2p.dial(multiaddr(addr), { signal }).catch((err: Error) => {
          if (!this.aloneWarned)
            logger.warn('no peer reachable; retrying the bootstrap list', { addr, err: err.message })
          this.aloneWarned = true
        })
      )
    )
    const joined = libp2p.getConnections().length > 0
    if (joined && this.aloneWarned) logger.info('joined the mesh through the bootstrap list')
    if (joined) this.aloneWarned = false
    return joined
  }
}
