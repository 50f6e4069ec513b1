import type { ComponentLogger, Connection, Logger, PeerId, Startable } from '@libp2p/interface'

export interface ConnectedContactsComponents {
  connectionManager: { getConnections(peerId?: PeerId): Connection[] }
  /** kad-dht's service: the hook below is not part of its interface, so it is looked for at run time */
  dht: unknown
  logger: ComponentLogger
}

/** The part of kad-dht this service wraps: every peer it hears of goes through here to its routing table. */
interface ContactHook {
  onPeerConnect(peer: { id: PeerId }): Promise<void>
}

function isContactHook(dht: unknown): dht is ContactHook {
  return typeof (dht as Partial<ContactHook> | undefined)?.onPeerConnect === 'function'
}

/**
 * Keeps kad-dht from dialling every peer a lookup answer names. kad-dht offers each peer named in
 * any response (closer peers, providers) to its routing table, and a new contact is pinged before it
 * is added while its bucket has room: a dial to a peer this node never needed. In a mesh of a few
 * dozen peers every bucket has room, so every node ended up connected to every other, and each join
 * cost a handshake with the whole mesh. Here only a peer this node is connected to is offered: a peer
 * it queried, or one that connected to it (kad-dht's own topology listener), as go-libp2p-kad-dht
 * fills its table. Lookups still dial the closer peers they query, and the peer store still learns
 * every named peer's addresses through kad-dht's discovery event.
 */
export class ConnectedContacts implements Startable {
  private readonly log: Logger
  private restore: (() => void) | undefined
  /** named peers not offered to the routing table, since start (for tests and logs) */
  readonly counts = { skipped: 0, offered: 0 }

  constructor(private readonly components: ConnectedContactsComponents) {
    this.log = components.logger.forComponent('meshwork:connected-contacts')
  }

  readonly [Symbol.toStringTag] = 'meshwork:connected-contacts'

  start(): void {
    const dht = this.components.dht
    if (!isContactHook(dht)) {
      this.log.error('kad-dht has no contact hook: lookups will dial every peer they hear of')
      return
    }
    const own = Object.prototype.hasOwnProperty.call(dht, 'onPeerConnect')
    const original = dht.onPeerConnect
    dht.onPeerConnect = async (peer) => {
      if (this.components.connectionManager.getConnections(peer.id).length === 0) {
        this.counts.skipped++
        return
      }
      this.counts.offered++
      return original.call(dht, peer)
    }
    this.restore = () => {
      if (own) dht.onPeerConnect = original
      else delete (dht as Partial<ContactHook>).onPeerConnect
    }
  }

  stop(): void {
    this.restore?.()
    this.restore = undefined
  }
}

/** libp2p service factory: `services: { contacts: connectedContacts() }` (after `dht`). */
export function connectedContacts() {
  return (components: ConnectedContactsComponents) => new ConnectedContacts(components)
}
