import type { Advert } from '../../../shared/advert'
import type { NodeEvents } from '../events'
import type { PeerEntry, PeerTable } from './peer-table'

interface Tracked extends PeerEntry {
  failures: number
}

export interface AcceptResult {
  accepted: boolean
  reason?: string
}

/**
 * The live candidate table: who serves what right now, from verified adverts.
 * Liveness comes from adverts and pings, never from DHT records (they outlive providers by hours).
 */
export class PeerDirectory implements PeerTable {
  private readonly peers = new Map<string, Tracked>()

  constructor(
    private readonly events: NodeEvents,
    private readonly deadAfterMs: number
  ) {}

  accept(advert: Advert, now = Date.now()): AcceptResult {
    const known = this.peers.get(advert.peerId)
    if (known !== undefined && advert.seq < known.advert.seq) {
      return { accepted: false, reason: `replayed sequence ${advert.seq} < ${known.advert.seq}` }
    }
    const changed = known === undefined || !known.alive || known.advert.seq !== advert.seq
    this.peers.set(advert.peerId, {
      peerId: advert.peerId,
      advert,
      alive: true,
      lastSeen: now,
      rttMs: known?.rttMs,
      throughputMbps: known?.throughputMbps,
      failures: 0
    })
    if (changed) this.events.emit('peer:updated', { peerId: advert.peerId, alive: true, paused: advert.paused })
    return { accepted: true }
  }

  recordRtt(peerId: string, rttMs: number): void {
    const entry = this.peers.get(peerId)
    if (entry !== undefined) entry.rttMs = rttMs
  }

  recordLink(peerId: string, link: { rttMs: number; throughputMbps: number }): void {
    const entry = this.peers.get(peerId)
    if (entry === undefined) return
    entry.rttMs = link.rttMs
    entry.throughputMbps = link.throughputMbps
  }

  /** A failed refresh; after `limit` in a row the peer is considered dead. */
  recordFailure(peerId: string, limit: number): void {
    const entry = this.peers.get(peerId)
    if (entry === undefined || !entry.alive) return
    entry.failures++
    if (entry.failures >= limit) this.markDead(peerId, `${entry.failures} failed refreshes`)
  }

  markDead(peerId: string, reason: string): void {
    const entry = this.peers.get(peerId)
    if (entry === undefined || !entry.alive) return
    entry.alive = false
    entry.excludedReason = reason
    this.events.emit('peer:removed', { peerId, reason })
    this.events.emit('peer:updated', { peerId, alive: false, paused: entry.advert.paused })
  }

  /** Drops peers whose last sign of life is older than the deadline; forgets long-dead ones. */
  sweep(now = Date.now()): void {
    for (const entry of this.peers.values()) {
      if (entry.alive && now - entry.lastSeen > this.deadAfterMs) this.markDead(entry.peerId, 'missed advert refreshes')
      else if (!entry.alive && now - entry.lastSeen > 30 * 60_000) this.peers.delete(entry.peerId)
    }
  }

  get(peerId: string): PeerEntry | undefined {
    return this.peers.get(peerId)
  }

  list(options: { includeDead?: boolean } = {}): PeerEntry[] {
    return [...this.peers.values()].filter((p) => options.includeDead === true || p.alive)
  }

  candidates(model: string): PeerEntry[] {
    return this.list().filter((p) => !p.advert.paused && p.advert.models.some((m) => m.name === model))
  }

  knownModels(): Set<string> {
    return new Set([...this.peers.values()].flatMap((p) => p.advert.models.map((m) => m.name)))
  }
}
