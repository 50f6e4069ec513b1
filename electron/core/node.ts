import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { advertContent } from './advert-content'
import { EarningsService } from './earnings/earnings-service'
import { advertPrice } from './earnings/prices'
import { createMetrics } from './api/metrics'
import { ApiFilePublisher } from './api-file'
import type { Config } from './config'
import type { NodeControl } from './control'
import { createEvents } from './events'
import { loadOrCreateIdentity } from './identity'
import { LocalHardware } from './local-hardware'
import { createNodeApi } from './node-api'
import { createNodeControl } from './node-control'
import { NodeStats } from './node-stats'
import { Advertiser } from './p2p/advertiser'
import { Discovery } from './p2p/discovery'
import { inferService } from './p2p/infer-provider'
import { createMeshLibp2p } from './p2p/libp2p'
import { createLinkProber } from './p2p/link-prober'
import { PeerDirectory } from './p2p/peer-directory'
import { connectionKind } from './p2p/reachability-connection'
import { PauseControl } from './pause-control'
import { ReputationService } from './reputation/reputation-service'
import { createRouter, routerTrust } from './router/router'
import { findAppRoot } from './runtime/paths'
import { advertProtocolService, benchProtocolService, libp2pService, listening, stopOnly } from './service-adapters'
import { Serving, localReference } from './serving'
import { statusView } from './status-view'
import { Lifecycle, type NamedService } from './util/lifecycle'
import { createLogger, type Logger } from './util/logger'
import type { AbortOptions } from './util/startable'

export interface MeshworkNode {
  readonly peerId: string
  readonly events: ReturnType<typeof createEvents>
  readonly control: NodeControl
  readonly apiUrl: string
  /** This node's libp2p addresses (with /p2p/ its id). */
  readonly multiaddrs: string[]
  start(options?: AbortOptions): Promise<void>
  /** Graceful: routed streams and provider jobs get `config.stopTimeoutMs` to finish, then all is released. */
  stop(options?: AbortOptions): Promise<void>
}

export interface NodeOptions {
  logger?: Logger
  /** The built dashboard to serve at `/` (default: dist/renderer of the app). */
  rendererDir?: string
}

/**
 * The composition root: builds the node's services and puts them in one ordered list. They start in
 * that order and stop in reverse (util/lifecycle.ts), so each service comes after what it uses.
 */
export async function createNode(config: Config, options: NodeOptions = {}): Promise<MeshworkNode> {
  const logger = options.logger ?? createLogger('node')
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  const privateKey = await loadOrCreateIdentity(config.dataDir, logger)
  const libp2p = await createMeshLibp2p(privateKey, config)
  const rendererDir = options.rendererDir ?? join(findAppRoot() ?? process.cwd(), 'dist', 'renderer')
  const peerId = peerIdFromPrivateKey(privateKey).toString()
  const events = createEvents()
  const startedAt = Date.now()

  // a node that serves nothing detects its hardware when something first asks for its status
  const hardware = new LocalHardware({ logger: logger.child('hardware') }, { lazy: !config.serve })
  const directory = new PeerDirectory(events, Math.max(3 * config.advertIntervalMs, 8_000))
  const refreshAdvert = (): void =>
    void advertiser.refresh().catch((err: unknown) => logger.error('advert refresh failed', { err }))
  const serving = config.serve
    ? new Serving({ events, logger, hardware: () => hardware.profile, onChange: refreshAdvert }, { config, peerId })
    : undefined
  const runtime = () => serving?.runtime
  const pause: PauseControl = new PauseControl(
    { events, logger, refreshAdvert: () => advertiser.refresh(), jobsIdle: (o) => infer.idle(o), runtime: serving },
    { dataDir: config.dataDir, pauseStopsRuntime: config.pauseStopsRuntime }
  )
  const earnings = new EarningsService(
    { libp2p },
    {
      dataDir: config.dataDir,
      privateKey,
      price: () => advertPrice(config),
      isPaused: () => pause.paused,
      advertOf: (id) => directory.get(id)?.advert,
      logger
    }
  )
  const infer = inferService({
    runtime,
    accounting: earnings,
    isPaused: () => pause.refusesJobs(),
    maxConcurrentJobs: config.maxConcurrentJobs,
    maxQueuedJobs: config.maxQueuedJobs
  })({ libp2p, events, logger })
  const advertiser: Advertiser = new Advertiser({
    peerId,
    privateKey,
    logger: logger.child('advert'),
    content: () =>
      advertContent({
        serving,
        hardware: () => hardware.profile,
        refusesJobs: () => pause.refusesJobs(),
        load: () => infer.load(),
        pricePerMillionTokens: config.pricePerMillionTokens,
        price: advertPrice(config)
      }),
    onSigned: (envelope) => void discovery.publish(envelope),
    providers: () => directory.list().length + 1
  })
  const discovery = new Discovery(
    { libp2p, directory, events, logger: logger.child('discovery') },
    {
      servedModels: () => serving?.servedModels().map((m) => m.name) ?? [],
      advertIntervalMs: config.advertIntervalMs,
      discoveryIntervalMs: config.discoveryIntervalMs,
      bootstrap: config.bootstrap
    }
  )
  const reputation = new ReputationService(
    { libp2p, peers: directory, events, logger },
    {
      self: peerId,
      dataDir: config.dataDir,
      trustedPeers: config.trustedPeers,
      ...config.reputation,
      local: localReference(serving),
      onChallengeSettled: (outcome) => earnings.attemptSettled(outcome)
    }
  )
  const router = createRouter({
    trust: reputation,
    peers: directory,
    libp2p,
    local: { peerId, runtime, isPaused: () => pause.refusesJobs(), benchmark: () => serving?.benchmark ?? {} },
    events,
    logger,
    policy: config.routingPolicy,
    maxPrice: config.maxPrice,
    promptPolicy: { trustedPeers: config.trustedPeers, localOnly: config.localOnly },
    requestDeadlineMs: config.requestDeadlineMs
  })
  const linkProber = createLinkProber({
    libp2p,
    peers: () => directory.list().map((p) => p.peerId),
    onResult: (id, link) => directory.recordLink(id, link),
    isRelayed: (id) => connectionKind(libp2p, id) === 'relayed',
    logger: logger.child('link')
  })
  const stats = new NodeStats({ events })
  const metrics = createMetrics(
    { events },
    { knownModels: () => router.knownModels(), gossip: () => reputation.gossipCounters() }
  )

  const status = () =>
    statusView({
      peerId,
      libp2p,
      apiUrl: () => api.url,
      paused: () => pause.paused,
      serve: config.serve,
      serving,
      hardware: () => hardware.profile,
      stats: () => stats.snapshot(),
      startedAt,
      reachability: () => libp2p.services.reachability.view()
    })
  const detectedStatus = async () => (await hardware.detected(), status())
  const listenAddrs = () => libp2p.getMultiaddrs().map(String)
  const control: NodeControl = createNodeControl({
    config,
    events,
    status,
    detectedStatus,
    peers: { directory, trust: routerTrust(router), connection: (id) => connectionKind(libp2p, id) },
    pause,
    earnings,
    refreshAdvert: () => advertiser.refresh()
  })
  const api = createNodeApi({ config, control, router, metrics, logger, rendererDir })

  const advertService = advertProtocolService(
    libp2p,
    { serves: serving !== undefined, current: () => advertiser.current() },
    logger.child('advert')
  )
  // Start order; stop is the reverse. On stop, every beforeStop runs first: the API stops taking
  // requests and `pause` refuses new provider jobs; then the API lets routed streams finish while
  // provider jobs keep running, the drain waits for those jobs, and only then the runtime stops.
  const services: NamedService[] = [
    { name: 'hardware detection', service: hardware },
    { name: 'libp2p', service: libp2pService(libp2p, { host: config.p2pHost, port: config.p2pPort }) },
    ...(advertService ? [{ name: 'advert protocol', service: advertService }] : []),
    { name: 'bench protocol', service: benchProtocolService(libp2p) },
    // before the infer service (receipts for its jobs), stopped after it and the router
    { name: 'earnings', service: earnings },
    { name: 'earnings of attempts', service: listening(events, 'attempt:settled', (o) => earnings.attemptSettled(o)) },
    ...(serving ? [{ name: 'serving', service: serving }] : []),
    { name: 'pause', service: pause },
    { name: 'infer service', service: infer },
    { name: 'drain', service: stopOnly((o) => pause.drain(o)) },
    { name: 'advertiser', service: advertiser },
    { name: 'discovery', service: discovery },
    { name: 'link prober', service: linkProber },
    { name: 'reputation', service: reputation },
    { name: 'router', service: stopOnly(() => router.stop()) },
    { name: 'stats', service: stats },
    { name: 'metrics', service: metrics },
    { name: 'api', service: api },
    {
      name: 'api.json',
      service: new ApiFilePublisher(
        { api, multiaddrs: listenAddrs },
        { dataDir: config.dataDir, peerId, apiKey: config.apiKey }
      )
    }
  ]
  const lifecycle = new Lifecycle(services, { logger })

  return {
    peerId,
    events,
    control,
    get apiUrl() {
      return api.url
    },
    get multiaddrs() {
      return listenAddrs()
    },
    async start(options) {
      await lifecycle.start(options)
      const p2p = listenAddrs()
      logger.info('node started', { peerId, api: api.url, p2p, paused: pause.paused })
    },
    async stop(options) {
      const deadline = AbortSignal.timeout(config.stopTimeoutMs)
      await lifecycle.stop({ signal: options?.signal ? AbortSignal.any([options.signal, deadline]) : deadline })
      logger.info('node stopped')
    }
  }
}
