import type { ComponentLogger, Connection, Libp2p, Logger, PeerId, Startable } from '@libp2p/interface'

/** How long a second connection to a peer may settle (identify, gossip streams) before we look at it. */
const SETTLE_MS = 5_000
/** A duplicate still busy with a short exchange is looked at again, this many times at most. */
const MAX_CHECKS = 6
/**
 * Streams that do not make a connection worth keeping: identify runs on every new connection, and
 * kad-dht's ping of a new contact leaves its stream half-closed. Anything else (a DHT query, an
 * infer job, gossipsub) is either in flight or long-lived, and its connection stays.
 */
const IDLE_PROTOCOLS = new Set(['/ipfs/id/1.0.0', '/ipfs/id/push/1.0.0', '/ipfs/ping/1.0.0'])
const GOSSIP_PREFIX = '/meshsub/'

export interface DuplicateConnectionsComponents {
  peerId: PeerId
  connectionManager: { getConnections(peerId?: PeerId): Connection[] }
  events: Pick<Libp2p, 'addEventListener' | 'removeEventListener'>
  logger: ComponentLogger
}

const carriesGossip = (c: Connection): boolean => c.streams.some((s) => s.protocol?.startsWith(GOSSIP_PREFIX))
const isIdle = (c: Connection): boolean =>
  c.streams.every((s) => s.protocol === undefined || IDLE_PROTOCOLS.has(s.protocol))

/**
 * Closes the second connection two peers open when each dials the other at the same moment (kad-dht
 * pings every new contact, and in a mesh both ends learn of each other at once: 36 of 45 pairs
 * of a fresh 10-peer mesh held two connections). Each one costs keep-alives and a connection-monitor
 * ping per minute, so a node's idle work grew with twice its peer count.
 *
 * Both ends must agree which connection stays, or each could close a different one. The one that
 * carries gossipsub's streams stays (gossipsub keeps one stream per peer and does not reopen it on
 * another connection); between two without gossip, the one dialled by the smaller peer id. Only the
 * end that dialled a connection closes it, and only while it carries nothing but identify or a
 * finished ping, so no exchange in flight is cut.
 */
export class DuplicateConnections implements Startable {
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private readonly log: Logger
  private running = false
  /** duplicates closed since start (for tests and logs) */
  closed = 0

  constructor(private readonly components: DuplicateConnectionsComponents) {
    this.log = components.logger.forComponent('meshwork:duplicate-connections')
  }

  readonly [Symbol.toStringTag] = 'meshwork:duplicate-connections'

  async start(): Promise<void> {
    this.running = true
    this.components.events.addEventListener('connection:open', this.onOpen)
  }

  async stop(): Promise<void> {
    this.running = false
    this.components.events.removeEventListener('connection:open', this.onOpen)
    for (const timer of this.timers.values()) clearTimeout(timer)
    this.timers.clear()
  }

  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    if (this.components.connectionManager.getConnections(evt.detail.remotePeer).length > 1)
      this.schedule(evt.detail.remotePeer, 1)
  }

  private schedule(peer: PeerId, attempt: number): void {
    const key = peer.toString()
    if (!this.running || this.timers.has(key) || attempt > MAX_CHECKS) return
    const timer = setTimeout(() => {
      this.timers.delete(key)
      if (this.closeDuplicates(peer)) this.schedule(peer, attempt + 1)
    }, SETTLE_MS)
    timer.unref()
    this.timers.set(key, timer)
  }

  /** Closes what this end may close now; true when a duplicate is left that may be closable later. */
  private closeDuplicates(peer: PeerId): boolean {
    const open = this.components.connectionManager
      .getConnections(peer)
      .filter((c) => c.status === 'open' && c.limits == null)
    if (open.length < 2) return false
    const keep = this.keeper(open)
    let waiting = false
    for (const conn of open) {
      if (conn === keep || conn.direction !== 'outbound') continue
      if (!isIdle(conn)) {
        waiting = waiting || !carriesGossip(conn)
        continue
      }
      this.closed++
      this.log('closing duplicate connection to %p (%s)', peer, conn.id)
      conn.close({ signal: AbortSignal.timeout(1_000) }).catch((err: Error) => conn.abort(err))
    }
    return waiting
  }

  /** The connection both ends keep: gossipsub's, else the oldest dialled by the smaller peer id. */
  private keeper(open: Connection[]): Connection {
    const self = this.components.peerId.toString()
    const dialer = (c: Connection) => (c.direction === 'outbound' ? self : c.remotePeer.toString())
    return [...open].sort((a, b) => {
      const gossip = Number(carriesGossip(b)) - Number(carriesGossip(a))
      if (gossip !== 0) return gossip
      const byDialer = dialer(a) < dialer(b) ? -1 : dialer(a) > dialer(b) ? 1 : 0
      return byDialer !== 0 ? byDialer : a.timeline.open - b.timeline.open
    })[0]
  }
}

/** libp2p service factory: `services: { duplicates: duplicateConnections() }`. */
export function duplicateConnections(): (components: DuplicateConnectionsComponents) => DuplicateConnections {
  return (components) => new DuplicateConnections(components)
}
