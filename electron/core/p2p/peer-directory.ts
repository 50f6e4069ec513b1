import type { Advert } from '../../../shared/advert'
import type { NodeEvents } from '../events'
import type { PeerEntry, PeerTable } from './peer-table'

interface Tracked extends PeerEntry {
  failures: number
  /** Dead when nothing is heard from it by then (its own refresh schedule); else lastSeen + deadAfterMs. */
  deadline?: number
}

/** Where an advert came from: fetched from the peer itself, or relayed by gossip. */
export type AdvertSource = 'direct' | 'gossip'

export interface AcceptOptions {
  now?: number
  source?: AdvertSource
}

export interface AcceptResult {
  accepted: boolean
  reason?: string
  /** The advert says something new (not only a fresh seq and timestamp). */
  changed?: boolean
}

export interface DirectoryLimits {
  /** Peers kept at most, alive and dead together. */
  maxPeers: number
}

const FORGET_DEAD_AFTER_MS = 30 * 60_000

function contentOf(advert: Advert): string {
  const { seq: _seq, timestamp: _timestamp, ...content } = advert
  return JSON.stringify(content)
}

/**
 * The live candidate table: who serves what right now, from verified adverts.
 * Liveness comes from adverts and pings, never from DHT records (they outlive providers by hours).
 * A peer enters only through an advert fetched from the peer itself: a gossiped advert proves that
 * a key exists, not that anyone answers, and fresh keys cost nothing. The table is bounded; when full,
 * dead peers make room and a newcomer never pushes out a live one.
 */
export class PeerDirectory implements PeerTable {
  private readonly peers = new Map<string, Tracked>()

  constructor(
    private readonly events: NodeEvents,
    private readonly deadAfterMs: number,
    private readonly limits: DirectoryLimits = { maxPeers: 512 }
  ) {}

  get size(): number {
    return this.peers.size
  }

  accept(advert: Advert, options: AcceptOptions = {}): AcceptResult {
    const now = options.now ?? Date.now()
    const source = options.source ?? 'direct'
    const known = this.peers.get(advert.peerId)
    if (known === undefined) {
      if (source === 'gossip') return { accepted: false, reason: 'not reached directly yet' }
      if (!this.makeRoom()) return { accepted: false, reason: 'peer table full of live peers' }
      this.peers.set(advert.peerId, { peerId: advert.peerId, advert, alive: true, lastSeen: now, failures: 0 })
      this.events.emit('peer:updated', { peerId: advert.peerId, alive: true, paused: advert.paused })
      return { accepted: true, changed: true }
    }
    if (advert.seq < known.advert.seq) {
      return { accepted: false, reason: `replayed sequence ${advert.seq} < ${known.advert.seq}` }
    }
    if (advert.seq === known.advert.seq) {
      // a copy of an advert already seen proves nothing new: it never brings a dead peer back
      if (!known.alive)
        return { accepted: false, reason: `sequence ${advert.seq} is not newer than the one the peer died with` }
      if (source === 'gossip') return { accepted: false, reason: `sequence ${advert.seq} already seen` }
      known.lastSeen = now
      known.failures = 0
      return { accepted: true, changed: false }
    }
    const changed = !known.alive || contentOf(known.advert) !== contentOf(advert)
    const revived = !known.alive
    Object.assign(known, { advert, alive: true, lastSeen: now, failures: 0, excludedReason: undefined })
    if (changed || revived)
      this.events.emit('peer:updated', { peerId: advert.peerId, alive: true, paused: advert.paused })
    return { accepted: true, changed }
  }

  /** The peer's next refresh is due: it counts as dead if nothing is heard from it within `ms` from now. */
  expectWithin(peerId: string, ms: number, now = Date.now()): void {
    const entry = this.peers.get(peerId)
    if (entry !== undefined) entry.deadline = Math.max(entry.lastSeen + this.deadAfterMs, now + ms)
  }

  /** Room for one more peer: evict the longest-dead one if the table is full. */
  private makeRoom(): boolean {
    if (this.peers.size < this.limits.maxPeers) return true
    let oldest: Tracked | undefined
    for (const entry of this.peers.values()) {
      if (!entry.alive && (oldest === undefined || entry.lastSeen < oldest.lastSeen)) oldest = entry
    }
    if (oldest === undefined) return false
    this.peers.delete(oldest.peerId)
    return true
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

  /**
   * Drops peers whose last sign of life is older than their deadline; forgets long-dead ones.
   * `stalledMs`: how long this node itself could not run (a blocked event loop hears nobody) — it
   * moves every deadline, since that silence is not the peers' fault.
   */
  sweep(now = Date.now(), stalledMs = 0): void {
    for (const entry of this.peers.values()) {
      let deadline = Math.max(entry.deadline ?? 0, entry.lastSeen + this.deadAfterMs)
      if (entry.alive && stalledMs > 0) entry.deadline = deadline += stalledMs
      if (entry.alive && now > deadline) this.markDead(entry.peerId, 'missed advert refreshes')
      else if (!entry.alive && now - entry.lastSeen > FORGET_DEAD_AFTER_MS) this.peers.delete(entry.peerId)
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
