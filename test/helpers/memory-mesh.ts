// A mesh of N real Meshwork p2p stacks in one process on libp2p's memory transport: each peer is the
// project's own libp2p node (createMeshLibp2p: noise, yamux, identify, ping, kad-dht, gossipsub,
// reachability) with the real PeerDirectory, Advertiser, advert and bench protocols, link prober and
// Discovery. Providers sign real adverts for one model (no model runs: nothing here serves inference).
// Peer 0 is a provider and everyone's bootstrap, like `meshwork start --bootstrap` in the field.
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { randomUUID } from 'node:crypto'
import { ConfigSchema, type Config, type ConfigInput } from '../../electron/core/config'
import { createEvents, type NodeEvents } from '../../electron/core/events'
import { Advertiser, type AdvertContent } from '../../electron/core/p2p/advertiser'
import { Discovery } from '../../electron/core/p2p/discovery'
import { createLinkProber } from '../../electron/core/p2p/link-prober'
import { createMeshLibp2p, type MeshLibp2p } from '../../electron/core/p2p/libp2p'
import { PeerDirectory } from '../../electron/core/p2p/peer-directory'
import { advertProtocolService, benchProtocolService, libp2pService } from '../../electron/core/service-adapters'
import { createLogger, type Logger, type LogLevel } from '../../electron/core/util/logger'
import type { Startable } from '../../electron/core/util/startable'
import { countedMemoryTransport, emptyTraffic, type Traffic } from './counted-transport'

export const MESH_MODEL = 'mesh-model'
const MODEL_SHA = 'ab'.repeat(32)

export interface MeshPeer {
  index: number
  peerId: string
  role: 'provider' | 'router'
  privateKey: PrivateKey
  config: Config
  libp2p: MeshLibp2p
  events: NodeEvents
  directory: PeerDirectory
  advertiser: Advertiser
  discovery: Discovery
  logger: Logger
  /** Raw traffic of this peer's connections (counted below noise). */
  traffic: Traffic
  /** `/memory/<name>/p2p/<id>` */
  multiaddr: string
  /** A provider's advert says paused; re-signed and gossiped at once. */
  setPaused(paused: boolean): Promise<void>
}

export interface MemoryMeshOptions {
  /** How many of the N peers publish adverts (peer 0 is always one of them); default 2. */
  providers?: number
  /** Config on top of the defaults (intervals and such); the transport is always memory. */
  config?: Partial<ConfigInput>
  /** Services a caller adds per peer (e.g. reputation); started after discovery, stopped before it. */
  services?: (peer: MeshPeer) => Startable[] | Promise<Startable[]>
  /** The link prober moves 256 KiB per peer every 20 s (default on, as in a node). */
  linkProbe?: boolean
  /** Peers started at once after the bootstrap peer (default 10). */
  startBatch?: number
  logLevel?: LogLevel
}

export interface MemoryMesh {
  peers: MeshPeer[]
  providers: MeshPeer[]
  routers: MeshPeer[]
  /** Routers that do not yet list every live, unpaused provider. */
  unconverged(): MeshPeer[]
  /** Resolves with the ms it took until every router lists every provider; throws after `timeoutMs`. */
  waitConverged(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<number>
  /** Starts one more peer, bootstrapped like the others. */
  addPeer(role: MeshPeer['role']): Promise<MeshPeer>
  stop(): Promise<void>
}

interface Running {
  peer: MeshPeer
  services: Startable[]
}

function providerContent(paused: () => boolean): () => AdvertContent {
  return () => ({
    version: 'mesh',
    paused: paused(),
    models: [{ name: MESH_MODEL, sha256: MODEL_SHA, params: 1 }],
    benchmark: { [MESH_MODEL]: { decodeTokensPerSecond: 100, prefillTokensPerSecond: 1000, ttftMs: 10, gflops: 1 } },
    price: { perMillionTokens: 0, currency: 'credits' },
    load: { inflight: 0, queued: 0, capacity: 2 }
  })
}

async function startPeer(index: number, role: MeshPeer['role'], bootstrap: string[], options: MemoryMeshOptions) {
  const privateKey = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(privateKey).toString()
  const logger = createLogger(`mesh${index}`, { level: options.logLevel ?? 'error' })
  // the schema checks bootstrap addresses as TCP/WebSocket multiaddrs: memory ones are set after parsing
  const parsed = ConfigSchema.parse({
    dataDir: '/nonexistent/meshwork-memory-mesh',
    mdns: false,
    addressScope: 'loopback',
    reachability: 'public',
    serve: role === 'provider',
    ...options.config
  })
  const config: Config = { ...parsed, bootstrap }
  const listen = `/memory/${randomUUID()}`
  const traffic = emptyTraffic()
  const libp2p = await createMeshLibp2p(privateKey, config, {
    transport: countedMemoryTransport(traffic),
    listen: [listen]
  })
  const events = createEvents()
  const directory = new PeerDirectory(events, Math.max(3 * config.advertIntervalMs, 8_000))
  let paused = false
  const advertiser: Advertiser = new Advertiser({
    peerId,
    privateKey,
    logger: logger.child('advert'),
    content: role === 'provider' ? providerContent(() => paused) : () => undefined,
    onSigned: (envelope) => void discovery.publish(envelope)
  })
  const discovery = new Discovery(
    { libp2p, directory, events, logger: logger.child('discovery') },
    {
      servedModels: () => (role === 'provider' ? [MESH_MODEL] : []),
      advertIntervalMs: config.advertIntervalMs,
      discoveryIntervalMs: config.discoveryIntervalMs,
      bootstrap
    }
  )
  const peer: MeshPeer = {
    index,
    peerId,
    role,
    privateKey,
    config,
    libp2p,
    events,
    directory,
    advertiser,
    discovery,
    logger,
    traffic,
    multiaddr: `${listen}/p2p/${peerId}`,
    async setPaused(value) {
      paused = value
      await advertiser.refresh()
    }
  }
  // the order of node.ts: libp2p, protocols, advertiser, discovery, link prober; then the caller's
  const services: Startable[] = [
    libp2pService(libp2p, { host: 'memory', port: 0 }),
    advertProtocolService(libp2p, () => advertiser.current(), logger.child('advert')),
    benchProtocolService(libp2p),
    advertiser,
    discovery
  ]
  if (options.linkProbe ?? true)
    services.push(
      createLinkProber({
        libp2p,
        peers: () => directory.list().map((p) => p.peerId),
        onResult: (id, link) => directory.recordLink(id, link),
        logger: logger.child('link')
      })
    )
  const started: Startable[] = []
  try {
    for (const service of services) {
      await service.start()
      started.push(service)
    }
    for (const service of (await options.services?.(peer)) ?? []) {
      await service.start()
      started.push(service)
    }
  } catch (err) {
    await stopAll(started)
    throw err
  }
  return { peer, services: started }
}

async function stopAll(services: Startable[]): Promise<void> {
  for (const service of [...services].reverse()) await service.stop().catch(() => {})
}

/** Starts `n` peers: peer 0 (a provider, the bootstrap) first, then the rest in batches. */
export async function startMemoryMesh(n: number, options: MemoryMeshOptions = {}): Promise<MemoryMesh> {
  const providerCount = Math.min(n, Math.max(1, options.providers ?? 2))
  const running: Running[] = []
  const roleOf = (i: number): MeshPeer['role'] => (i < providerCount ? 'provider' : 'router')
  let bootstrap: string[] = []
  const add = async (role: MeshPeer['role']): Promise<MeshPeer> => {
    const entry = await startPeer(running.length, role, bootstrap, options)
    running.push(entry)
    return entry.peer
  }
  const peersOf = (role?: MeshPeer['role']) =>
    running.map((r) => r.peer).filter((p) => role === undefined || p.role === role)

  const mesh: MemoryMesh = {
    get peers() {
      return peersOf()
    },
    get providers() {
      return peersOf('provider')
    },
    get routers() {
      return peersOf('router')
    },
    unconverged() {
      const wanted = peersOf('provider').map((p) => p.peerId)
      return peersOf('router').filter((router) => {
        const listed = new Set(router.directory.candidates(MESH_MODEL).map((c) => c.peerId))
        return wanted.some((id) => !listed.has(id))
      })
    },
    async waitConverged({ timeoutMs = 60_000, signal } = {}) {
      const started = performance.now()
      while (mesh.unconverged().length > 0) {
        signal?.throwIfAborted()
        if (performance.now() - started > timeoutMs)
          throw new Error(
            `${mesh.unconverged().length}/${peersOf('router').length} routers unconverged after ${timeoutMs} ms`
          )
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      return performance.now() - started
    },
    addPeer: add,
    async stop() {
      // all at once: a peer stopping one by one would make the others re-dial and re-probe it
      await Promise.all(running.splice(0).map((r) => stopAll(r.services)))
    }
  }

  try {
    const first = await add(roleOf(0))
    bootstrap = [first.multiaddr]
    const batch = Math.max(1, options.startBatch ?? 10)
    for (let i = 1; i < n; i += batch) {
      const size = Math.min(batch, n - i)
      const results = await Promise.allSettled(
        Array.from({ length: size }, (_, k) => startPeer(i + k, roleOf(i + k), bootstrap, options))
      )
      for (const result of results) if (result.status === 'fulfilled') running.push(result.value)
      const failed = results.find((r) => r.status === 'rejected')
      if (failed !== undefined) throw failed.reason
    }
  } catch (err) {
    await mesh.stop()
    throw err
  }
  return mesh
}
