import type { ComponentLogger, IdentifyResult, Libp2p, Logger, Startable } from '@libp2p/interface'
import { getNetConfig, isPrivate } from '@libp2p/utils'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Reachability, ReachabilityStatus } from '../../../shared/api'

export type ReachabilityMode = 'auto' | 'public' | 'private'

export interface ReachabilityInit {
  mode: ReachabilityMode
  /** Relays to reserve a slot on once this node knows it is behind NAT (0: never). */
  reservations: number
  /** Called when the status changes (the DHT mode and the relay service follow it). */
  onChange?: (status: ReachabilityStatus) => void
}

/** The parts of libp2p's internal components this service reads (given to every libp2p service). */
export interface ReachabilityComponents {
  addressManager: {
    getAddresses(): Multiaddr[]
    getAddressesWithMetadata(): Array<{ multiaddr: Multiaddr; verified: boolean }>
  }
  transportManager: { getAddrs(): Multiaddr[]; listen(addrs: Multiaddr[]): Promise<void> }
  events: Pick<Libp2p, 'addEventListener' | 'removeEventListener'>
  logger: ComponentLogger
}

/** Peers whose view of our address is remembered; older ones are forgotten first. */
const MAX_OBSERVERS = 64

/**
 * Says whether this node can be dialled from outside, from what libp2p already knows:
 * - `public`: an address that is not private was verified (AutoNAT dial-backs, a UPnP mapping)
 *   or announced by the owner;
 * - `private`: a peer that reached us without a relay saw us at an address that is none of ours,
 *   so a NAT sits between (identify's observed address; AutoNAT itself ignores private ranges);
 * - `unknown`: neither yet (a LAN or loopback mesh stays here, and keeps working as before).
 * Once private, the node listens on `/p2p-circuit` so libp2p's relay transport reserves slots on
 * a few relays and advertises the relayed addresses.
 */
export class ReachabilityService implements Startable {
  /** peer id → whether that peer saw us at one of our own addresses */
  private readonly observers = new Map<string, boolean>()
  private current: ReachabilityStatus = 'unknown'
  private relayListening = false
  private readonly log: Logger

  constructor(
    private readonly components: ReachabilityComponents,
    private readonly init: ReachabilityInit
  ) {
    this.log = components.logger.forComponent('meshwork:reachability')
  }

  readonly [Symbol.toStringTag] = 'meshwork:reachability'

  get status(): ReachabilityStatus {
    return this.current
  }

  async start(): Promise<void> {
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    this.components.events.addEventListener('self:peer:update', this.onSelfUpdate)
  }

  async afterStart(): Promise<void> {
    this.update()
  }

  async stop(): Promise<void> {
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    this.components.events.removeEventListener('self:peer:update', this.onSelfUpdate)
  }

  /** The shape of `/api/status.reachability`. */
  view(): Reachability {
    const addresses = this.components.addressManager.getAddresses()
    const relays = new Set<string>()
    for (const addr of addresses) {
      const relay = relayOf(addr)
      if (relay !== undefined) relays.add(relay)
    }
    return { status: this.current, relays: [...relays], addresses: addresses.map(String) }
  }

  private readonly onSelfUpdate = (): void => this.update()

  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const { connection, observedAddr, peerId } = evt.detail
    // what a peer behind a relay "observes" is the relay's view, not ours
    if (observedAddr === undefined || connection.limits !== undefined || isRelayed(connection.remoteAddr)) return
    const host = hostOf(observedAddr)
    if (host === undefined) return
    const ours = new Set(this.components.transportManager.getAddrs().map(hostOf))
    const key = peerId.toString()
    this.observers.delete(key)
    this.observers.set(key, ours.has(host))
    if (this.observers.size > MAX_OBSERVERS) this.observers.delete(this.observers.keys().next().value as string)
    this.update()
  }

  private evaluate(): ReachabilityStatus {
    if (this.init.mode !== 'auto') return this.init.mode
    const verifiedPublic = this.components.addressManager
      .getAddressesWithMetadata()
      .some(
        (a) => a.verified && !isRelayed(a.multiaddr) && hostOf(a.multiaddr) !== undefined && !isPrivate(a.multiaddr)
      )
    if (verifiedPublic) return 'public'
    if ([...this.observers.values()].some((sawOurs) => !sawOurs)) return 'private'
    return 'unknown'
  }

  private update(): void {
    const next = this.evaluate()
    if (next === 'private') this.listenOnRelays()
    if (next === this.current) return
    this.log('reachability %s -> %s', this.current, next)
    this.current = next
    this.init.onChange?.(next)
  }

  private listenOnRelays(): void {
    if (this.relayListening || this.init.reservations === 0) return
    this.relayListening = true
    const addrs = Array.from({ length: this.init.reservations }, () => multiaddr('/p2p-circuit'))
    this.components.transportManager.listen(addrs).catch((err: Error) => {
      this.log.error('could not listen on relays - %e', err)
    })
  }
}

export function isRelayed(addr: Multiaddr): boolean {
  return addr.getComponents().some((c) => c.name === 'p2p-circuit')
}

function hostOf(addr: Multiaddr): string | undefined {
  try {
    const config = getNetConfig(addr)
    return config.type === 'ip4' || config.type === 'ip6' ? config.host : undefined
  } catch {
    return undefined
  }
}

/** The relay's peer id in `/…/p2p/<relay>/p2p-circuit/p2p/<us>`. */
export function relayOf(addr: Multiaddr): string | undefined {
  const parts = addr.getComponents()
  const circuit = parts.findIndex((p) => p.name === 'p2p-circuit')
  if (circuit <= 0) return undefined
  const relay = parts[circuit - 1]
  return relay.name === 'p2p' ? relay.value : undefined
}

export function reachabilityService(
  init: ReachabilityInit
): (components: ReachabilityComponents) => ReachabilityService {
  return (components) => new ReachabilityService(components, init)
}
