import type { Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { NodeEvents } from '../events'
import type { Logger } from '../util/logger'
import { advertTopicValidator, verifiedAdvertOf } from './advert-gossip'
import { refreshAdvert } from './advert-refresh'
import { ADVERT_PROTOCOL } from './advert-protocol'
import { Announcer } from './announcer'
import { ADVERT_RESIGN_MS, ADVERT_TOPIC, MAX_HEARTBEAT_MS } from './advertiser'
import { BootstrapRejoin, REJOIN_RETRY_MS } from './bootstrap-rejoin'
import { type LookupResult, LookupSchedule } from './lookup-schedule'
import type { MeshLibp2p } from './libp2p'
import { modelCid } from './model-cid'
import type { PeerDirectory } from './peer-directory'
import { PROVIDERS_PROTOCOL, ProviderExchange } from './provider-exchange'
import { forgetAddresses, type ProviderIntake, takeProvider } from './provider-intake'
import { lookupProviders } from './provider-lookup'
import { RefreshScheduler } from './refresh-scheduler'

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
const FIND_TIMEOUT_MS = 10_000 // over ADDRESS_DIAL_TIMEOUT_MS: a lookup may dial a peer that leads nowhere
/** Providers taken from one DHT lookup: a hostile DHT node can answer with any number. */
const MAX_PROVIDERS_PER_LOOKUP = 128
const TABLES_LOG_MS = 5_000
const SWEEP_MS = 1_000
// Idle lookup rounds wait 4x longer each time, up to 128x the interval (5 s, 20 s, 80 s, 320 s, 640 s):
// gossiped adverts carry a settled mesh's news (every provider re-signs at least once a minute), so a
// lookup is only a safety net, and at 100 peers each costs about 45 requests (9 at 10 peers).
const LOOKUP_BACKOFF_FACTOR = 128
const LOOKUP_BACKOFF_GROWTH = 4

/**
 * Finds providers through the DHT (one key per model, plus one "any provider" key), keeps their
 * verified adverts fresh on each peer's own schedule, and drops a provider fast when its connection
 * dies and it cannot be re-dialled, or when it stops answering for its adverts.
 */
export class Discovery {
  readonly scheduler: RefreshScheduler
  private readonly timers: NodeJS.Timeout[] = []
  private readonly controller = new AbortController()
  private readonly announcer: Announcer
  private readonly rejoin: BootstrapRejoin
  private readonly lookups: LookupSchedule
  private readonly exchange: ProviderExchange
  private readonly intake: ProviderIntake

  constructor(
    private readonly components: DiscoveryComponents,
    private readonly init: DiscoveryInit
  ) {
    const { libp2p, directory } = components
    this.announcer = new Announcer(libp2p, components.logger, this.controller.signal)
    this.rejoin = new BootstrapRejoin(libp2p, init.bootstrap, components.logger)
    this.scheduler = new RefreshScheduler({
      refresh: (peerId, options) => {
        const signal = AbortSignal.any([this.controller.signal, ...(options.signal ? [options.signal] : [])])
        return refreshAdvert({ libp2p, directory, logger: components.logger }, peerId, { signal })
      },
      isTrusted: (peerId) =>
        directory.get(peerId)?.alive === true || libp2p.getConnections(peerIdFromString(peerId)).length > 0,
      onSchedule: (peerId, silenceMs) => directory.expectWithin(peerId, silenceMs),
      onDrop: (peerId) => forgetAddresses(components, peerId),
      baseIntervalMs: init.advertIntervalMs,
      maxIntervalMs: Math.max(init.advertIntervalMs, 30_000),
      fetchTimeoutMs: FETCH_TIMEOUT_MS,
      gossipQuietMs: 1.5 * ADVERT_RESIGN_MS,
      maxHeartbeatMs: MAX_HEARTBEAT_MS
    })
    this.intake = {
      libp2p,
      directory,
      isWatched: (peerId) => this.scheduler.has(peerId),
      watch: (peerId) => this.watch(peerId)
    }
    this.exchange = new ProviderExchange({ ...components, intake: this.intake, signal: this.controller.signal })
    this.lookups = new LookupSchedule({
      run: () => this.discover(),
      baseMs: init.discoveryIntervalMs,
      maxMs: init.discoveryIntervalMs * LOOKUP_BACKOFF_FACTOR,
      growth: LOOKUP_BACKOFF_GROWTH,
      aloneRetryMs: REJOIN_RETRY_MS,
      onError: (err) => components.logger.debug('discovery round failed', { err })
    })
  }

  async start(): Promise<void> {
    const { libp2p, directory, logger } = this.components
    libp2p.addEventListener('peer:disconnect', this.onDisconnect)
    libp2p.addEventListener('peer:identify', this.onIdentify)
    this.components.events.on('peer:removed', this.onRemoved)
    libp2p.services.pubsub.topicValidators.set(
      ADVERT_TOPIC,
      advertTopicValidator({
        selfPeerId: libp2p.peerId.toString(),
        knownSeq: (peerId) => directory.get(peerId)?.advert.seq,
        onVerdict: (verdict, reason) => {
          if (verdict === 'reject') logger.debug('gossiped advert rejected', { reason })
        }
      })
    )
    await this.exchange.start()
    libp2p.services.pubsub.subscribe(ADVERT_TOPIC)
    libp2p.services.pubsub.addEventListener('message', this.onGossip)
    this.scheduler.start()
    let lastSweep = Date.now()
    this.every(SWEEP_MS, async () => {
      const now = Date.now()
      directory.sweep(now, Math.max(0, now - lastSweep - 2 * SWEEP_MS))
      lastSweep = now
    })
    // every table keyed by peer id is bounded; say how full they are
    const { scheduler } = this
    const tables = () => ({ watched: scheduler.size, unverified: scheduler.probationSize(), directory: directory.size })
    this.every(TABLES_LOG_MS, async () => logger.debug('tables', tables()))
    this.lookups.start(500) // a first round soon, once bootstrap connections are up
  }

  async stop(): Promise<void> {
    this.controller.abort()
    this.lookups.stop()
    await this.announcer.settled()
    this.scheduler.stop()
    for (const timer of this.timers) clearInterval(timer)
    const { libp2p } = this.components
    libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
    libp2p.removeEventListener('peer:identify', this.onIdentify)
    this.components.events.off('peer:removed', this.onRemoved)
    libp2p.services.pubsub.removeEventListener('message', this.onGossip)
    libp2p.services.pubsub.topicValidators.delete(ADVERT_TOPIC)
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

  private watch(peerId: string, options: { urgent?: boolean; signedAdvert?: boolean } = {}): boolean {
    const { libp2p } = this.components
    if (peerId === libp2p.peerId.toString()) return false
    const connected = libp2p.getConnections(peerIdFromString(peerId)).length > 0
    return this.scheduler.watch(peerId, { ...options, connected })
  }

  /** Announce what we serve, look up who else serves it; true (no back-off) when something is new or due. */
  async discover(): Promise<LookupResult> {
    const { libp2p, logger, directory } = this.components
    // alone with a bootstrap list: re-dial it soon (a lone first node has nobody to dial)
    if (libp2p.getConnections().length === 0 && !(await this.rejoin.dial(this.controller.signal)))
      return this.init.bootstrap.length > 0 ? 'alone' : true
    let busy = this.announcer.announce(this.init.servedModels()) // no back-off until the mesh can find us
    let cutShort = false
    // the "any provider" key only until this node knows a model: then gossip brings news of other models
    const models = [...directory.knownModels()]
    const lookups = models.length > 0 ? models : ['*']
    const self = libp2p.peerId.toString()
    const known = (id: string) => id === self || this.scheduler.has(id)
    for (const name of lookups) {
      const cid = await modelCid(name) // '*' is the "any provider" key
      const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(FIND_TIMEOUT_MS)])
      let taken = 0
      try {
        for await (const provider of lookupProviders(libp2p.services.dht, cid, { signal, known })) {
          if ((await takeProvider(this.intake, provider)) && ++taken >= MAX_PROVIDERS_PER_LOOKUP) break
        }
      } catch (err) {
        if (!signal.aborted) logger.debug('findProviders failed', { model: name, err })
      }
      if (taken > 0) busy = true
      cutShort ||= signal.aborted
    }
    if (busy || directory.list().length === 0) return true
    return cutShort ? 'unfinished' : false
  }

  /** The mesh changed in a way a lookup may learn more about: look again soon. */
  private nudgeIfNew(peerId: string): void {
    if (!this.scheduler.has(peerId) && this.components.directory.get(peerId) === undefined) this.lookups.nudge()
  }

  private readonly onIdentify = (evt: CustomEvent<{ peerId: PeerId; protocols: string[] }>): void => {
    if (evt.detail.protocols.includes(PROVIDERS_PROTOCOL)) this.exchange.offer(evt.detail.peerId)
    if (!evt.detail.protocols.includes(ADVERT_PROTOCOL)) return
    const peerId = evt.detail.peerId.toString()
    this.nudgeIfNew(peerId)
    this.watch(peerId, { urgent: true })
  }

  private readonly onRemoved = (evt: { peerId: string; reason: string }): void => {
    this.components.logger.info('provider no longer routable', evt)
  }

  /** A closed connection: re-dial and ping at once; if that fails the peer is dead now, not in 30 s. */
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peerId = evt.detail.toString()
    // the last connection gone: re-join through the bootstrap list now, not after a backed-off wait
    if (this.components.libp2p.getConnections().length === 0) this.lookups.nudge()
    const entry = this.components.directory.get(peerId)
    if (entry === undefined || !entry.alive) return
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)])
    this.components.libp2p.services.ping
      .ping(evt.detail, { signal })
      .then((rtt) => this.components.directory.recordRtt(peerId, rtt))
      .catch(() => this.components.directory.markDead(peerId, 'connection lost and re-dial failed'))
  }

  // A gossiped advert (verified by the topic validator) updates a peer this node has reached and stands
  // in for its next fetch; a peer not reached yet is only watched, and enters once a direct fetch succeeds.
  private readonly onGossip = (evt: CustomEvent<Message>): void => {
    const advert = evt.detail.topic === ADVERT_TOPIC ? verifiedAdvertOf(evt.detail) : undefined
    if (advert === undefined) return
    const result = this.components.directory.accept(advert, { source: 'gossip' })
    if (result.accepted) this.scheduler.heard(advert.peerId, advert.heartbeatMs)
    else if (this.components.directory.get(advert.peerId) === undefined) {
      this.nudgeIfNew(advert.peerId)
      this.watch(advert.peerId, { urgent: true, signedAdvert: true })
    }
  }
}
