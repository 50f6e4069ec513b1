import type { ConnectionKind, PeersResponse } from '../../shared/api'
import type { PeerDirectory } from './p2p/peer-directory'
import type { TrustSource } from './router/trust-source'

export interface PeerSources {
  directory: Pick<PeerDirectory, 'list'>
  /** The router's trust, shown as the router uses it: there is one notion of a peer's trust. */
  trust: TrustSource
  /** How this node is connected to a peer now. */
  connection: (peerId: string) => ConnectionKind
}

/** `GET /api/peers`: what this node knows of each peer (dead ones too with `all`). */
export function peerViews(sources: PeerSources, options: { all?: boolean } = {}): PeersResponse {
  const { directory, trust } = sources
  const peers = directory.list({ includeDead: options.all === true }).map((entry) => ({
    peerId: entry.peerId,
    models: entry.advert.models.map((m) => m.name),
    paused: entry.advert.paused,
    alive: entry.alive,
    trust: trust.trust(entry.peerId),
    trustEvidence: trust.evidence?.(entry.peerId) ?? {},
    excludedReason: entry.excludedReason ?? trust.excludedReason(entry.peerId),
    rttMs: entry.rttMs,
    throughputMbps: entry.throughputMbps,
    connection: sources.connection(entry.peerId),
    lastSeen: entry.lastSeen,
    advert: entry.advert
  }))
  return { peers }
}
