// One peer of the in-process memory mesh (memory-mesh.ts): the project's own libp2p node and p2p
// services, started in the order of node.ts.
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
import {
  countStreams,
  countedMemoryTransport,
  emptyTraffic,
  type StreamCounts,
  type Traffic
} from './counted-transport'

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
  /** Streams this peer opened, by protocol. */
  streams: StreamCounts
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

export interface Running {
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

export async function startPeer(
  index: number,
  role: MeshPeer['role'],
  bootstrap: string[],
  options: MemoryMeshOptions
) {
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
  const streams: StreamCounts = {}
  libp2p.addEventListener('connection:open', (evt) => countStreams(evt.detail, streams))
  const events = createEvents()
  const directory = new PeerDirectory(events, Math.max(3 * config.advertIntervalMs, 8_000))
  let paused = false
  const advertiser: Advertiser = new Advertiser({
    peerId,
    privateKey,
    logger: logger.child('advert'),
    content: role === 'provider' ? providerContent(() => paused) : () => undefined,
    onSigned: (envelope) => void discovery.publish(envelope),
    providers: () => directory.list().length + 1
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
    streams,
    multiaddr: `${listen}/p2p/${peerId}`,
    async setPaused(value) {
      paused = value
      await advertiser.refresh()
    }
  }
  // the order of node.ts: libp2p, protocols, advertiser, discovery, link prober; then the caller's
  const advertService = advertProtocolService(
    libp2p,
    { serves: role === 'provider', current: () => advertiser.current() },
    logger.child('advert')
  )
  const services: Startable[] = [
    libp2pService(libp2p, { host: 'memory', port: 0 }),
    ...(advertService ? [advertService] : []),
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

export async function stopAll(services: Startable[]): Promise<void> {
  for (const service of [...services].reverse()) await service.stop().catch(() => {})
}
