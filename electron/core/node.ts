import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { PeersResponse, StatusResponse } from '../../shared/api'
import type { HardwareProfile } from '../../shared/hardware'
import { registerControlRoutes } from './api/control-routes'
import { registerIpcRoutes } from './api/ipc-routes'
import { createMetrics, registerMetricsRoute, type RoutingMetrics } from './api/metrics'
import { registerOpenAiRoutes } from './api/openai-routes'
import { ApiServer } from './api/server'
import { settingsView } from './api/settings-view'
import { registerStaticRoutes } from './api/static-routes'
import type { Config } from './config'
import type { NodeControl } from './control'
import { createEvents } from './events'
import { detectHardware } from './hardware/detect'
import { createLinkProber, type LinkProber } from './hardware/link-prober'
import { registerBenchProtocol } from './p2p/bench-protocol'
import { loadOrCreateIdentity } from './identity'
import { NodeStats } from './node-stats'
import { readState, writeState } from './node-state'
import { registerAdvertProtocol } from './p2p/advert-protocol'
import { Advertiser, type AdvertContent } from './p2p/advertiser'
import { Discovery } from './p2p/discovery'
import { inferService, type InferService } from './p2p/infer-protocol'
import { createMeshLibp2p, type MeshLibp2p } from './p2p/libp2p'
import { PeerDirectory } from './p2p/peer-directory'
import { createRouter, type Router } from './router/router'
import { findAppRoot } from './runtime/paths'
import { Serving } from './serving'
import { createLogger, type Logger } from './util/logger'
import { MeshworkError } from './util/errors'
import { VERSION } from './version'

export interface MeshworkNode {
  readonly peerId: string
  readonly events: ReturnType<typeof createEvents>
  readonly control: NodeControl
  readonly apiUrl: string
  start(): Promise<void>
  stop(): Promise<void>
}

export interface NodeOptions {
  logger?: Logger
  /** The built dashboard to serve at `/` (default: dist/renderer of the app). */
  rendererDir?: string
}

const DRAIN_TIMEOUT_MS = 60_000

/** Composes the node's services; starts them in dependency order and stops them in reverse. */
export async function createNode(config: Config, options: NodeOptions = {}): Promise<MeshworkNode> {
  const logger = options.logger ?? createLogger('node')
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  const privateKey = await loadOrCreateIdentity(config.dataDir, logger)
  const libp2p = await createMeshLibp2p(privateKey, config)
  const rendererDir = options.rendererDir ?? join(findAppRoot() ?? process.cwd(), 'dist', 'renderer')
  return new Node(config, logger, privateKey, libp2p, rendererDir)
}

class Node implements MeshworkNode {
  readonly events = createEvents()
  readonly control: NodeControl
  readonly peerId: string
  private readonly directory: PeerDirectory
  private readonly advertiser: Advertiser
  private readonly discovery: Discovery
  private readonly infer: InferService
  private readonly router: Router
  private readonly serving?: Serving
  private readonly metrics: RoutingMetrics
  private readonly stats: NodeStats
  private readonly linkProber: LinkProber
  private unregisterBench?: () => Promise<void>
  private readonly api: ApiServer
  private hardware: HardwareProfile = { gpus: [], cpu: { brand: 'unknown', cores: 0 }, memoryMB: 0, os: process.platform }
  private paused: boolean
  private readonly startedAt = Date.now()
  private stopping = false

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    privateKey: Parameters<typeof createMeshLibp2p>[0],
    private readonly libp2p: MeshLibp2p,
    rendererDir: string
  ) {
    this.peerId = peerIdFromPrivateKey(privateKey).toString()
    this.paused = readState(config.dataDir).paused
    const { events } = this
    this.stats = new NodeStats(events)
    this.directory = new PeerDirectory(events, Math.max(3 * config.advertIntervalMs, 8_000))
    if (config.serve) {
      this.serving = new Serving({
        config, events, logger, peerId: this.peerId,
        hardware: () => this.hardware,
        onChange: () => void this.advertiser.refresh().catch((err) => logger.error('advert refresh failed', { err }))
      })
    }
    this.advertiser = new Advertiser(this.peerId, privateKey, () => this.advertContent(), (envelope) => void this.discovery.publish(envelope), logger.child('advert'))
    this.discovery = new Discovery(
      { libp2p, directory: this.directory, events, logger: logger.child('discovery') },
      {
        servedModels: () => this.serving?.servedModels().map((m) => m.name) ?? [],
        advertIntervalMs: config.advertIntervalMs,
        discoveryIntervalMs: config.discoveryIntervalMs,
        bootstrap: config.bootstrap
      }
    )
    const runtime = () => this.serving?.runtime
    this.infer = inferService({
      runtime, isPaused: () => this.paused, events, logger,
      maxConcurrentJobs: config.maxConcurrentJobs,
      maxQueuedJobs: config.maxQueuedJobs
    })({ libp2p })
    this.router = createRouter({
      peers: this.directory,
      libp2p,
      local: { peerId: this.peerId, runtime, isPaused: () => this.paused, benchmark: () => this.serving?.benchmark ?? {} },
      events,
      logger,
      policy: config.routingPolicy
    })
    this.linkProber = createLinkProber({
      libp2p,
      peers: () => this.directory.list().map((p) => p.peerId),
      onResult: (peerId, link) => this.directory.recordLink(peerId, link),
      logger: logger.child('link')
    })
    this.metrics = createMetrics(events)
    this.control = {
      status: async () => this.status(),
      peers: async (opts) => this.peerViews(opts?.all === true),
      pause: async () => this.setPaused(true),
      resume: async () => this.setPaused(false),
      settings: async () => settingsView(config, this.status()),
      events
    }
    this.api = new ApiServer({
      host: config.apiHost,
      port: config.apiPort,
      apiKey: config.apiKey,
      maxBodyBytes: config.maxBodyBytes,
      logger: logger.child('api'),
      routes: [
        (app) => registerControlRoutes(app, this.control),
        (app) => registerOpenAiRoutes(app, { router: this.router, logger }),
        (app) => registerIpcRoutes(app, this.control, { logger }),
        (app) => registerMetricsRoute(app, this.metrics.registry),
        (app) => registerStaticRoutes(app, rendererDir)
      ]
    })
  }

  get apiUrl(): string {
    return this.api.url
  }

  async start(): Promise<void> {
    const hardware = detectHardware({ signal: AbortSignal.timeout(15_000), logger: this.logger.child('hardware') })
      .then((profile) => (this.hardware = profile))
      .catch((err) => this.logger.warn('hardware detection failed; advertising a CPU-only profile', { err }))
    await Promise.resolve(this.libp2p.start()).catch((err: Error) => {
      // libp2p words this as a configuration problem, with a stack trace; say what to do instead
      if (!/EADDRINUSE/.test(err.message)) throw err
      const where = `${this.config.p2pHost}:${this.config.p2pPort}`
      throw new MeshworkError(`the P2P port ${where} is already in use: choose another with --p2p-port N, or --p2p-port 0 for any free port`, 'p2p_port_in_use', 500, { cause: err })
    })
    await hardware
    await registerAdvertProtocol(this.libp2p, () => this.advertiser.current(), this.logger.child('advert'))
    this.unregisterBench = await registerBenchProtocol(this.libp2p)
    await this.infer.start()
    await this.advertiser.start()
    await this.discovery.start()
    await this.linkProber.start()
    await this.api.start()
    await this.writeApiFile()
    this.serving?.start()
    if (this.paused && this.config.pauseStopsRuntime) this.logger.info('starting paused (the choice survives restarts)')
    this.logger.info('node started', { peerId: this.peerId, api: this.apiUrl, p2p: this.libp2p.getMultiaddrs().map(String), paused: this.paused })
  }

  async stop(): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    const steps: Array<[string, () => Promise<unknown>]> = [
      ['api', () => this.api.stop()],
      ['drain', () => this.drain()],
      ['infer', () => this.infer.stop()],
      ['router', async () => this.router.stop()],
      ['link prober', () => this.linkProber.stop()],
      ['bench protocol', async () => this.unregisterBench?.()],
      ['discovery', () => this.discovery.stop()],
      ['advertiser', () => this.advertiser.stop()],
      ['serving', async () => this.serving?.stop()],
      ['libp2p', async () => this.libp2p.stop()],
      ['metrics', async () => this.metrics.stop()],
      ['api.json', () => rm(join(this.config.dataDir, 'api.json'), { force: true })]
    ]
    for (const [name, step] of steps) {
      await step().catch((err) => this.logger.error(`stopping ${name} failed`, { err }))
    }
    this.logger.info('node stopped')
  }

  /** Waits (bounded) until the jobs this node is serving have finished. */
  private async drain(): Promise<void> {
    const deadline = Date.now() + DRAIN_TIMEOUT_MS
    while (this.infer.load().inflight + this.infer.load().queued > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  private advertContent(): AdvertContent | undefined {
    const models = this.serving?.servedModels() ?? []
    if (models.length === 0) return undefined
    return {
      version: VERSION,
      paused: this.paused,
      models,
      hardware: this.hardware,
      benchmark: this.serving?.benchmark ?? {},
      price: { perMillionTokens: this.config.pricePerMillionTokens, currency: 'credits' },
      load: this.infer.load()
    }
  }

  private async setPaused(paused: boolean): Promise<StatusResponse> {
    if (this.paused === paused) return this.status()
    if (!paused && this.config.pauseStopsRuntime) await this.serving?.resume()
    this.paused = paused
    await writeState(this.config.dataDir, { paused })
    await this.advertiser.refresh()
    this.events.emit('status:changed', { paused })
    this.logger.info(paused ? 'paused: no new jobs' : 'resumed: taking jobs')
    if (paused && this.config.pauseStopsRuntime) {
      // in-flight jobs finish first, then the GPU is freed
      void this.drain()
        .then(() => (this.paused ? this.serving?.suspend() : undefined))
        .catch((err) => this.logger.error('suspending the runtime failed', { err }))
    }
    return this.status()
  }

  private status(): StatusResponse {
    return {
      peerId: this.peerId,
      version: VERSION,
      multiaddrs: this.libp2p.getMultiaddrs().map(String),
      connections: this.libp2p.getConnections().length,
      apiUrl: this.apiUrl,
      paused: this.paused,
      serving: this.config.serve,
      runtime: this.serving?.runtime?.status() ?? { kind: 'none', state: 'stopped', message: this.config.serve ? 'starting' : 'router only (--no-serve)' },
      models: this.serving?.runtime?.models() ?? [],
      hardware: this.hardware,
      benchmark: this.serving?.benchmark ?? {},
      stats: this.stats.snapshot(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000)
    }
  }

  private peerViews(all: boolean): PeersResponse {
    const peers = this.directory.list({ includeDead: all }).map((entry) => {
      const record = this.router.records.snapshot()[entry.peerId]
      // until gossiped reputation lands, trust is this node's own evidence (Laplace-smoothed success rate)
      const trust = record === undefined ? 0.5 : (record.successes + 1) / (record.successes + record.failures + 2)
      const ejected = record !== undefined && record.ejectedUntil > Date.now()
      return {
        peerId: entry.peerId,
        models: entry.advert.models.map((m) => m.name),
        paused: entry.advert.paused,
        alive: entry.alive,
        trust,
        trustEvidence: { source: 'local', ...record },
        excludedReason: entry.excludedReason ?? (ejected ? `ejected after ${record.consecutiveFailures} failures` : undefined),
        rttMs: entry.rttMs,
        throughputMbps: entry.throughputMbps,
        lastSeen: entry.lastSeen,
        advert: entry.advert
      }
    })
    return { peers }
  }

  private async writeApiFile(): Promise<void> {
    const body = JSON.stringify({ apiUrl: this.apiUrl, pid: process.pid, peerId: this.peerId, apiKey: this.config.apiKey })
    const path = join(this.config.dataDir, 'api.json')
    await writeFile(`${path}.tmp`, body, { mode: 0o600 })
    await rename(`${path}.tmp`, path)
  }
}
