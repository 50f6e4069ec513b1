import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { HardwareProfile, BenchmarkMap } from '../../shared/hardware'
import type { StatusResponse } from '../../shared/api'
import { registerControlRoutes } from './api/control-routes'
import { ApiServer } from './api/server'
import type { Config } from './config'
import type { NodeControl } from './control'
import { detectHardware } from './hardware/detect'
import { createEvents, type NodeEvents } from './events'
import { loadOrCreateIdentity } from './identity'
import { readState, writeState } from './node-state'
import { registerAdvertProtocol } from './p2p/advert-protocol'
import { Advertiser, type AdvertContent } from './p2p/advertiser'
import { Discovery } from './p2p/discovery'
import { createMeshLibp2p, type MeshLibp2p } from './p2p/libp2p'
import { PeerDirectory } from './p2p/peer-directory'
import type { InferenceRuntime } from './runtime/types'
import { createLogger, type Logger } from './util/logger'
import { VERSION } from './version'

export interface MeshworkNode {
  readonly peerId: string
  readonly events: NodeEvents
  readonly control: NodeControl
  readonly apiUrl: string
  start(): Promise<void>
  stop(): Promise<void>
}

export interface NodeOptions {
  logger?: Logger
}

/** Composes the node's services; starts them in dependency order and stops them in reverse. */
export async function createNode(config: Config, options: NodeOptions = {}): Promise<MeshworkNode> {
  const logger = options.logger ?? createLogger('node')
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  const privateKey = await loadOrCreateIdentity(config.dataDir, logger)
  const peerId = peerIdFromPrivateKey(privateKey).toString()
  return new Node(config, logger, privateKey, peerId)
}

class Node implements MeshworkNode {
  readonly events = createEvents()
  readonly control: NodeControl
  private readonly libp2pReady: Promise<MeshLibp2p>
  private libp2p?: MeshLibp2p
  private readonly directory: PeerDirectory
  private readonly advertiser: Advertiser
  private discovery?: Discovery
  private readonly api: ApiServer
  private runtime?: InferenceRuntime
  private hardware: HardwareProfile
  private benchmark: BenchmarkMap = {}
  private paused: boolean
  private readonly startedAt = Date.now()
  private stopping = false

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    privateKey: Parameters<typeof createMeshLibp2p>[0],
    readonly peerId: string
  ) {
    this.paused = readState(config.dataDir).paused
    this.libp2pReady = createMeshLibp2p(privateKey, config)
    this.directory = new PeerDirectory(this.events, Math.max(3 * config.advertIntervalMs, 8_000))
    this.hardware = baselineHardware()
    this.advertiser = new Advertiser(
      peerId,
      privateKey,
      () => this.advertContent(),
      (envelope) => void this.discovery?.publish(envelope),
      logger.child('advert')
    )
    this.control = {
      status: async () => this.status(),
      peers: async (opts) => ({ peers: this.peerViews(opts?.all === true) }),
      pause: async () => this.setPaused(true),
      resume: async () => this.setPaused(false),
      events: this.events
    }
    this.api = new ApiServer({
      host: config.apiHost,
      port: config.apiPort,
      apiKey: config.apiKey,
      maxBodyBytes: config.maxBodyBytes,
      logger: logger.child('api'),
      routes: [(app) => registerControlRoutes(app, this.control)]
    })
  }

  get apiUrl(): string {
    return this.api.url
  }

  async start(): Promise<void> {
    const hardware = detectHardware({ signal: AbortSignal.timeout(15_000) })
      .then((profile) => (this.hardware = profile))
      .catch((err) => this.logger.warn('hardware detection failed; advertising a CPU-only profile', { err }))
    const libp2p = (this.libp2p = await this.libp2pReady)
    await libp2p.start()
    await hardware
    await registerAdvertProtocol(libp2p, () => this.advertiser.current(), this.logger.child('advert'))
    this.discovery = new Discovery(
      { libp2p, directory: this.directory, events: this.events, logger: this.logger.child('discovery') },
      {
        servedModels: () => (this.config.serve ? this.servedModels().map((m) => m.name) : []),
        advertIntervalMs: this.config.advertIntervalMs,
        discoveryIntervalMs: this.config.discoveryIntervalMs
      }
    )
    await this.advertiser.start()
    await this.discovery.start()
    await this.api.start()
    await this.writeApiFile()
    this.logger.info('node started', {
      peerId: this.peerId,
      api: this.apiUrl,
      p2p: libp2p.getMultiaddrs().map((a) => a.toString()),
      paused: this.paused
    })
  }

  async stop(): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    const steps: Array<[string, () => Promise<unknown>]> = [
      ['api', () => this.api.stop()],
      ['discovery', async () => this.discovery?.stop()],
      ['advertiser', () => this.advertiser.stop()],
      ['runtime', async () => this.runtime?.stop()],
      ['libp2p', async () => this.libp2p?.stop()],
      ['api.json', () => rm(join(this.config.dataDir, 'api.json'), { force: true })]
    ]
    for (const [name, step] of steps) {
      await step().catch((err) => this.logger.error(`stopping ${name} failed`, { err }))
    }
    this.logger.info('node stopped')
  }

  private servedModels() {
    return this.runtime?.models() ?? []
  }

  private advertContent(): AdvertContent | undefined {
    const models = this.servedModels()
    if (!this.config.serve || models.length === 0) return undefined
    return {
      version: VERSION,
      paused: this.paused,
      models,
      hardware: this.hardware,
      benchmark: this.benchmark,
      price: { perMillionTokens: this.config.pricePerMillionTokens, currency: 'credits' },
      load: { inflight: 0, queued: 0, capacity: this.config.maxConcurrentJobs }
    }
  }

  private async setPaused(paused: boolean): Promise<StatusResponse> {
    if (this.paused !== paused) {
      this.paused = paused
      await writeState(this.config.dataDir, { paused })
      await this.advertiser.refresh()
      this.events.emit('status:changed', { paused })
      this.logger.info(paused ? 'paused: no new jobs' : 'resumed: taking jobs')
    }
    return this.status()
  }

  private status(): StatusResponse {
    const libp2p = this.libp2p
    return {
      peerId: this.peerId,
      version: VERSION,
      multiaddrs: libp2p?.getMultiaddrs().map((a) => a.toString()) ?? [],
      apiUrl: this.apiUrl,
      paused: this.paused,
      serving: this.config.serve,
      runtime: this.runtime?.status() ?? { kind: 'none', state: 'stopped' },
      models: this.servedModels(),
      hardware: this.hardware,
      benchmark: this.benchmark,
      stats: { served: 0, routed: 0, failovers: 0 },
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000)
    }
  }

  private peerViews(all: boolean) {
    return this.directory.list({ includeDead: all }).map((entry) => ({
      peerId: entry.peerId,
      models: entry.advert.models.map((m) => m.name),
      paused: entry.advert.paused,
      alive: entry.alive,
      trust: 0.5,
      trustEvidence: {},
      excludedReason: entry.excludedReason,
      rttMs: entry.rttMs,
      lastSeen: entry.lastSeen,
      advert: entry.advert
    }))
  }

  private async writeApiFile(): Promise<void> {
    const body = JSON.stringify({ apiUrl: this.apiUrl, pid: process.pid, peerId: this.peerId, apiKey: this.config.apiKey })
    const path = join(this.config.dataDir, 'api.json')
    await writeFile(`${path}.tmp`, body, { mode: 0o600 })
    await import('node:fs/promises').then((fs) => fs.rename(`${path}.tmp`, path))
  }
}

function baselineHardware(): HardwareProfile {
  return { gpus: [], cpu: { brand: 'unknown', cores: 0 }, memoryMB: 0, os: process.platform }
}
