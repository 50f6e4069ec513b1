import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { NodeEvents } from '../events'
import type { Logger } from '../util/logger'
import { openAdvert } from './advert-envelope'
import { fetchAdvertBytes } from './advert-protocol'
import { ADVERT_TOPIC } from './advertiser'
import type { MeshLibp2p } from './libp2p'
import { anyProviderCid, modelCid } from './model-cid'
import type { PeerDirectory } from './peer-directory'

export interface DiscoveryInit {
  /** Models this node serves (announced in the DHT); empty for a router-only peer. */
  servedModels: () => string[]
  advertIntervalMs: number
  discoveryIntervalMs: number
  /** Multiaddrs to (re-)join through while this node has no connection at all. */
  bootstrap: string[]
}

export interface DiscoveryComponents {
  libp2p: MeshLibp2p
  directory: PeerDirectory
  events: NodeEvents
  logger: Logger
}

const FETCH_TIMEOUT_MS = 2_500
const PROBE_TIMEOUT_MS = 2_000
const FIND_TIMEOUT_MS = 5_000
const BOOTSTRAP_DIAL_TIMEOUT_MS = 4_000
const MAX_WATCHED = 1_000

/**
 * Finds providers through the DHT (one key per model, plus one "any provider" key), keeps their
 * verified adverts fresh, and drops a provider fast when its connection dies and it cannot be
 * re-dialled, or when it stops refreshing its advert.
 */
export class Discovery {
  private readonly watched = new Set<string>()
  private readonly timers: NodeJS.Timeout[] = []
  private readonly controller = new AbortController()
  private providedAt = new Map<string, number>()
  private refreshing = false
  private aloneWarned = false

  constructor(
    private readonly components: DiscoveryComponents,
    private readonly init: DiscoveryInit
  ) {}

  async start(): Promise<void> {
    const { libp2p } = this.components
    libp2p.addEventListener('peer:disconnect', this.onDisconnect)
    libp2p.addEventListener('peer:identify', this.onIdentify)
    libp2p.services.pubsub.subscribe(ADVERT_TOPIC)
    libp2p.services.pubsub.addEventListener('message', this.onGossip)
    this.every(this.init.advertIntervalMs, () => this.refreshAdverts())
    this.every(this.init.discoveryIntervalMs, () => this.discover())
    this.every(1_000, async () => this.components.directory.sweep())
    // a first round soon after start, once bootstrap connections are up
    setTimeout(() => void this.discover().catch(() => {}), 500).unref()
  }

  async stop(): Promise<void> {
    this.controller.abort()
    for (const timer of this.timers) clearInterval(timer)
    const { libp2p } = this.components
    libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
    libp2p.removeEventListener('peer:identify', this.onIdentify)
    libp2p.services.pubsub.removeEventListener('message', this.onGossip)
  }

  /** Spread our advert at once (pause/resume) instead of waiting for the next refresh. */
  async publish(envelope: Uint8Array): Promise<void> {
    await this.components.libp2p.services.pubsub.publish(ADVERT_TOPIC, envelope).catch((err: Error) => {
      this.components.logger.debug('advert gossip not delivered', { err })
    })
  }

  private every(ms: number, task: () => Promise<void>): void {
    this.timers.push(
      setInterval(() => {
        task().catch((err) => this.components.logger.debug('background task failed', { err }))
      }, ms)
    )
  }

  private watch(peerId: string): void {
    if (peerId === this.components.libp2p.peerId.toString()) return
    if (this.watched.size >= MAX_WATCHED && !this.watched.has(peerId)) return
    if (!this.watched.has(peerId)) {
      this.watched.add(peerId)
      void this.refreshOne(peerId).catch(() => {})
    }
  }

  /** Announce what we serve and look up who else serves anything. */
  async discover(): Promise<void> {
    const { libp2p, logger } = this.components
    if (libp2p.getConnections().length === 0 && !(await this.rejoin())) return
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(FIND_TIMEOUT_MS)])
    const served = this.init.servedModels()
    const keys = served.length > 0 ? ['*', ...served] : []
    for (const name of keys) {
      // provide until it succeeds once, then leave re-providing to kad-dht
      if (Date.now() - (this.providedAt.get(name) ?? 0) < 5 * 60_000) continue
      const cid = name === '*' ? await anyProviderCid() : await modelCid(name)
      await libp2p.contentRouting
        .provide(cid, { signal })
        .then(() => this.providedAt.set(name, Date.now()))
        .catch((err: Error) => logger.debug('provide failed, will retry', { model: name, err }))
    }
    const lookups = ['*', ...this.components.directory.knownModels()]
    for (const name of lookups) {
      const cid = name === '*' ? await anyProviderCid() : await modelCid(name)
      try {
        for await (const provider of libp2p.contentRouting.findProviders(cid, { signal })) {
          if (provider.multiaddrs.length > 0) await libp2p.peerStore.merge(provider.id, { multiaddrs: provider.multiaddrs })
          this.watch(provider.id.toString())
        }
      } catch (err) {
        if (!signal.aborted) logger.debug('findProviders failed', { model: name, err })
      }
    }
  }

  /**
   * @libp2p/bootstrap dials its list once. If that dial fails (the peer is busy, not up yet, or
   * rate-limits inbound connections) the node would stay alone for good, so while it has no
   * connection it dials the list again on every discovery round.
   */
  private async rejoin(): Promise<boolean> {
    const { libp2p, logger } = this.components
    if (this.init.bootstrap.length === 0) return false
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(BOOTSTRAP_DIAL_TIMEOUT_MS)])
    await Promise.all(
      this.init.bootstrap.map((addr) =>
        libp2p.dial(multiaddr(addr), { signal }).catch((err: Error) => {
          if (!this.aloneWarned) logger.warn('no peer reachable; retrying the bootstrap list', { addr, err: err.message })
          this.aloneWarned = true
        })
      )
    )
    const joined = libp2p.getConnections().length > 0
    if (joined && this.aloneWarned) logger.info('joined the mesh through the bootstrap list')
    if (joined) this.aloneWarned = false
    return joined
  }

  private async refreshAdverts(): Promise<void> {
    if (this.refreshing) return
    this.refreshing = true
    try {
      const ids = [...this.watched]
      // bounded concurrency: a handful of streams at a time
      for (let i = 0; i < ids.length; i += 8) {
        await Promise.all(ids.slice(i, i + 8).map((id) => this.refreshOne(id).catch(() => {})))
      }
    } finally {
      this.refreshing = false
    }
  }

  private async refreshOne(peerId: string): Promise<void> {
    const { libp2p, directory, logger } = this.components
    const entry = directory.get(peerId)
    if (entry !== undefined && !entry.alive && Date.now() - entry.lastSeen > 10 * 60_000) {
      this.watched.delete(peerId)
      return
    }
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)])
    const started = Date.now()
    let bytes: Uint8Array | undefined
    try {
      bytes = await fetchAdvertBytes(libp2p, peerIdFromString(peerId), { signal })
    } catch (err) {
      directory.recordFailure(peerId, 2)
      logger.debug("advert fetch failed", { peerId, err })
      return
    }
    if (bytes === undefined) {
      this.watched.delete(peerId) // a router-only peer: nothing to route to
      return
    }
    try {
      const advert = await openAdvert(bytes, { expectedSigner: peerId })
      const result = directory.accept(advert)
      if (!result.accepted) logger.warn('advert rejected', { peerId, reason: result.reason })
      else directory.recordRtt(peerId, Date.now() - started)
    } catch (err) {
      logger.warn('advert rejected', { peerId, reason: (err as Error).message })
    }
  }

  private readonly onIdentify = (evt: CustomEvent<{ peerId: PeerId; protocols: string[] }>): void => {
    if (evt.detail.protocols.includes('/meshwork/advert/1.0.0')) this.watch(evt.detail.peerId.toString())
  }

  /** A closed connection: re-dial and ping at once; if that fails the peer is dead now, not in 30 s. */
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peerId = evt.detail.toString()
    const entry = this.components.directory.get(peerId)
    if (entry === undefined || !entry.alive) return
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)])
    this.components.libp2p.services.ping
      .ping(evt.detail, { signal })
      .then((rtt) => this.components.directory.recordRtt(peerId, rtt))
      .catch(() => this.components.directory.markDead(peerId, 'connection lost and re-dial failed'))
  }

  private readonly onGossip = (evt: CustomEvent<{ topic: string; data: Uint8Array }>): void => {
    if (evt.detail.topic !== ADVERT_TOPIC) return
    openAdvert(evt.detail.data)
      .then((advert) => {
        if (advert.peerId === this.components.libp2p.peerId.toString()) return
        this.watched.add(advert.peerId)
        this.components.directory.accept(advert)
      })
      .catch((err: Error) => this.components.logger.debug('gossiped advert rejected', { reason: err.message }))
  }
}
