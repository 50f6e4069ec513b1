import type { ComponentLogger, Connection, Libp2pEvents, Logger, PeerId, Startable } from '@libp2p/interface'
import type { TypedEventTarget } from 'main-event'
import { ADDRESS_DIAL_TIMEOUT_MS } from './dial-timeouts'

/** A peer that has not come back this long after its last connection closed is checked. */
const GRACE_MS = 60_000
/** Dials of departed peers in flight at once. */
const DIAL_CONCURRENCY = 4
/** Departed peers waiting for their check; past this the oldest is left to kad-dht's own eviction. */
const MAX_WAITING = 4_096

export interface DepartedPeersComponents {
  events: TypedEventTarget<Libp2pEvents>
  connectionManager: {
    getConnections(peerId?: PeerId): Connection[]
    openConnection(peerId: PeerId, options?: { signal?: AbortSignal }): Promise<Connection>
  }
  peerStore: { delete(peerId: PeerId): Promise<void> }
  /** kad-dht's service: its routing table is not part of its interface, so it is looked for at run time */
  dht: unknown
  logger: ComponentLogger
}

export interface DepartedPeersInit {
  graceMs?: number
  dialTimeoutMs?: number
}

interface RoutingTable {
  remove(peerId: PeerId): Promise<void>
}

/**
 * Forgets peers that left. kad-dht keeps a peer in its routing table until a full bucket needs the
 * place (its table holds up to 64 x 20 peers), and libp2p keeps a peer's record in its peer store for
 * 6 hours, expiring it only when it is read. Under churn both grew with every peer that ever joined,
 * and each entry's small buffers (ids, keys, addresses) kept the pooled slab they were cut from alive.
 * A peer whose last connection closed and that has not come back within the grace period is dialled
 * once; a peer that does not answer is removed from the routing table and the peer store. A peer that
 * answers stays (it was cut off, not gone), and so does every peer this node is connected to.
 */
export class DepartedPeers implements Startable {
  private readonly log: Logger
  /** peer id -> when its last connection closed (insertion order is departure order) */
  private readonly waiting = new Map<string, { peerId: PeerId; at: number }>()
  private timer: NodeJS.Timeout | undefined
  private controller = new AbortController()
  private sweeping = false
  /** peers forgotten and peers that answered their check, since start (for tests and logs) */
  readonly counts = { forgotten: 0, answered: 0 }

  constructor(
    private readonly components: DepartedPeersComponents,
    private readonly init: DepartedPeersInit = {}
  ) {
    this.log = components.logger.forComponent('meshwork:departed-peers')
  }

  readonly [Symbol.toStringTag] = 'meshwork:departed-peers'

  private get graceMs(): number {
    return this.init.graceMs ?? GRACE_MS
  }

  start(): void {
    this.controller = new AbortController()
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    this.components.events.addEventListener('peer:connect', this.onConnect)
    this.timer = setInterval(() => void this.sweep(), Math.max(50, this.graceMs / 2))
    this.timer.unref()
  }

  stop(): void {
    this.controller.abort()
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    this.components.events.removeEventListener('peer:connect', this.onConnect)
    clearInterval(this.timer)
    this.waiting.clear()
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const key = evt.detail.toString()
    this.waiting.delete(key) // re-inserted: the map stays in departure order
    this.waiting.set(key, { peerId: evt.detail, at: Date.now() })
    if (this.waiting.size > MAX_WAITING) this.waiting.delete(this.waiting.keys().next().value as string)
  }

  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    this.waiting.delete(evt.detail.toString())
  }

  private routingTable(): RoutingTable | undefined {
    const table = (this.components.dht as { routingTable?: Partial<RoutingTable> } | undefined)?.routingTable
    return typeof table?.remove === 'function' ? (table as RoutingTable) : undefined
  }

  /** Checks the peers whose grace ran out, a few at a time; one sweep at a time. */
  private async sweep(): Promise<void> {
    if (this.sweeping) return
    this.sweeping = true
    try {
      const due: PeerId[] = []
      const cutoff = Date.now() - this.graceMs
      for (const [key, { peerId, at }] of this.waiting) {
        if (at > cutoff) break
        this.waiting.delete(key)
        due.push(peerId)
      }
      for (let i = 0; i < due.length && !this.controller.signal.aborted; i += DIAL_CONCURRENCY)
        await Promise.all(due.slice(i, i + DIAL_CONCURRENCY).map((peerId) => this.check(peerId)))
    } finally {
      this.sweeping = false
    }
  }

  private async check(peerId: PeerId): Promise<void> {
    const { connectionManager, peerStore } = this.components
    if (connectionManager.getConnections(peerId).length > 0) return
    const timeout = AbortSignal.timeout(this.init.dialTimeoutMs ?? 2 * ADDRESS_DIAL_TIMEOUT_MS)
    try {
      await connectionManager.openConnection(peerId, { signal: AbortSignal.any([this.controller.signal, timeout]) })
      this.counts.answered++
      return
    } catch (err) {
      if (this.controller.signal.aborted) return
      this.log('%p left and does not answer, forgetting it - %e', peerId, err)
    }
    try {
      await this.routingTable()?.remove(peerId)
      await peerStore.delete(peerId)
      this.counts.forgotten++
    } catch (err) {
      this.log.error('could not forget %p - %e', peerId, err)
    }
  }
}

/** libp2p service factory: `services: { departed: departedPeers() }` (after `dht`, whose table it prunes). */
export function departedPeers(init: DepartedPeersInit = {}) {
  return (components: DepartedPeersComponents) => new DepartedPeers(components, init)
}
