import type { Advert } from '../../../shared/advert'

/** What this node currently believes about one remote provider. */
export interface PeerEntry {
  peerId: string
  /** The last verified advert. */
  advert: Advert
  alive: boolean
  /** ms since epoch when we last verified an advert or a ping from it */
  lastSeen: number
  rttMs?: number
  /** Measured by the /meshwork/bench/1.0.0 link probe. */
  throughputMbps?: number
  /** Why the peer is not routable right now (dead, paused, ejected…), if it is not. */
  excludedReason?: string
}

/** The live candidate table that discovery maintains and the router reads. */
export interface PeerTable {
  get(peerId: string): PeerEntry | undefined
  list(options?: { includeDead?: boolean }): PeerEntry[]
  /** Alive, non-paused peers whose advert lists `model`. */
  candidates(model: string): PeerEntry[]
  /** Every model name seen in any advert (alive or not) — decides 404 vs 503. */
  knownModels(): Set<string>
  /** Mark a peer dead at once (e.g. an infer stream broke and a ping failed). */
  markDead(peerId: string, reason: string): void
}
