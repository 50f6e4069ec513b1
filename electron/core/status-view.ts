import type { Reachability, StatusResponse } from '../../shared/api'
import type { HardwareProfile } from '../../shared/hardware'
import type { MeshLibp2p } from './p2p/libp2p'
import type { Serving } from './serving'
import { VERSION } from './version'

export interface StatusSources {
  peerId: string
  libp2p: Pick<MeshLibp2p, 'getMultiaddrs' | 'getConnections'>
  apiUrl: () => string
  paused: () => boolean
  /** Whether this node serves at all (false: router only, --no-serve). */
  serve: boolean
  serving?: Pick<Serving, 'runtime' | 'benchmark'>
  hardware: () => HardwareProfile
  stats: () => StatusResponse['stats']
  startedAt: number
  /** How peers reach this node; 'unknown' until a reachability service reports. */
  reachability?: () => Reachability
}

/** `GET /api/status`, the tray and `meshwork status`. */
export function statusView(sources: StatusSources): StatusResponse {
  const { serving } = sources
  return {
    peerId: sources.peerId,
    version: VERSION,
    multiaddrs: sources.libp2p.getMultiaddrs().map(String),
    connections: sources.libp2p.getConnections().length,
    apiUrl: sources.apiUrl(),
    paused: sources.paused(),
    serving: sources.serve,
    runtime: serving?.runtime?.status() ?? {
      kind: 'none',
      state: 'stopped',
      message: sources.serve ? 'starting' : 'router only (--no-serve)'
    },
    models: serving?.runtime?.models() ?? [],
    hardware: sources.hardware(),
    benchmark: serving?.benchmark ?? {},
    stats: sources.stats(),
    reachability: sources.reachability?.() ?? { status: 'unknown', relays: [], addresses: [] },
    uptimeSeconds: Math.round((Date.now() - sources.startedAt) / 1000)
  }
}
