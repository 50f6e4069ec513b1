import type { AbortOptions } from '../util/startable'
import { ADDRESS_DIAL_TIMEOUT_MS } from './dial-timeouts'

/** What one advert fetch found. */
export type RefreshOutcome = 'changed' | 'unchanged' | 'failed' | 'rejected' | 'serves-nothing' | 'forget'

export interface RefreshSchedulerInit {
  refresh: (peerId: string, options: AbortOptions) => Promise<RefreshOutcome>
  /** Alive in the directory, or holding an open connection to us: such peers get the fast lane. */
  isTrusted: (peerId: string) => boolean
  /** Told how long a peer may now stay silent before it counts as dead. */
  onSchedule?: (peerId: string, silenceAllowedMs: number) => void
  /** A peer stopped being watched (never produced an advert, serves nothing, or long dead). */
  onDrop?: (peerId: string, reason: string) => void
  baseIntervalMs: number
  /** Ceiling of the back-off while a peer's advert does not change. */
  maxIntervalMs: number
  /** Per fetch; a first contact (probation lane) dials first and also gets ADDRESS_DIAL_TIMEOUT_MS. */
  fetchTimeoutMs: number
  /** Concurrent fetches: trusted peers, and everyone else (new, unverified, dead). */
  trustedConcurrency?: number
  probationConcurrency?: number
  /** Watched peers that have not yet produced a verified advert. */
  maxProbation?: number
  maxWatched?: number
  /** A new peer is dropped after this many fetches, or this long, without a verified advert. */
  probationTries?: number
  probationMs?: number
  /** A dropped peer is not watched again for a while (unless it connects to us): 30 s, doubling per drop up to this. */
  quarantineMs?: number
  /**
   * A verified peer `heard` by gossip is not fetched until gossip is quiet this long (default 15 s) or
   * 1.5 heartbeats its signed advert promised, believed up to `maxHeartbeatMs` (60 s: buys no minutes).
   */
  gossipQuietMs?: number
  maxHeartbeatMs?: number
}

interface Watch {
  peerId: string
  addedAt: number
  nextAt: number
  intervalMs: number
  tries: number
  failures: number
  verified: boolean
  running: boolean
}

const QUARANTINE_MAX = 4_096
const FIRST_QUARANTINE_MS = 30_000

interface Quarantine {
  until: number
  strikes: number
}

/**
 * Gives every watched peer its own refresh schedule, so a slow or unreachable peer never delays the
 * refresh of another: trusted peers and newcomers draw from separate bounded pools, each peer is
 * fetched when its own time comes (with jitter), and an advert that does not change backs off.
 * Newcomers are bounded and evicted oldest first; a peer that never yields an advert is dropped.
 */
export class RefreshScheduler {
  private readonly watches = new Map<string, Watch>()
  private readonly quarantine = new Map<string, Quarantine>()
  private readonly running = { trusted: 0, probation: 0 }
  private readonly controller = new AbortController()
  private timer?: NodeJS.Timeout
  private wakeAt = Infinity
  private stopped = true

  constructor(private readonly init: RefreshSchedulerInit) {}

  get size(): number {
    return this.watches.size
  }

  probationSize(): number {
    let count = 0
    for (const w of this.watches.values()) if (!w.verified) count++
    return count
  }

  has(peerId: string): boolean {
    return this.watches.has(peerId)
  }

  start(): void {
    this.stopped = false
    this.pump()
  }

  stop(): void {
    this.stopped = true
    this.controller.abort()
    clearTimeout(this.timer)
  }

  /** Watch a peer; `urgent` fetches it now (it just connected, or gossip named it). Returns false if refused. */
  watch(peerId: string, options: { urgent?: boolean; connected?: boolean; signedAdvert?: boolean } = {}): boolean {
    const now = Date.now()
    const known = this.watches.get(peerId)
    if (known !== undefined) {
      if (options.urgent === true && !known.running) known.nextAt = Math.min(known.nextAt, now)
      this.wake(known.nextAt)
      return true
    }
    // quarantine keeps out ids a DHT answer names; one connected to us, or whose fresh signed advert
    // just came by gossip (rate-limited by the topic validator), is alive: an overloaded honest
    // provider whose fetches timed out must not stay out for minutes
    const vouched = options.connected === true || options.signedAdvert === true
    if ((this.quarantine.get(peerId)?.until ?? 0) > now && !vouched) return false
    if (this.watches.size >= (this.init.maxWatched ?? 1_024) && !this.evictNewcomer()) return false
    if (this.probationSize() >= (this.init.maxProbation ?? 256) && !this.evictNewcomer()) return false
    const w: Watch = {
      peerId,
      addedAt: now,
      nextAt: now,
      intervalMs: this.init.baseIntervalMs,
      tries: 0,
      failures: 0,
      verified: false,
      running: false
    }
    this.watches.set(peerId, w)
    this.wake(now)
    return true
  }

  /**
   * A fresh advert arrived by gossip (verified, taken): no fetch until gossip goes quiet (see init);
   * dead if neither gossip nor a fetch comes within that quiet period plus a fetch timeout.
   */
  heard(peerId: string, heartbeatMs = 0): void {
    const w = this.watches.get(peerId)
    if (w === undefined || !w.verified || w.running) return
    const promised = Math.min(heartbeatMs, this.init.maxHeartbeatMs ?? 30_000)
    const quietMs = Math.max(this.init.gossipQuietMs ?? 15_000, 1.5 * promised)
    w.failures = 0
    w.nextAt = Math.max(w.nextAt, Date.now() + quietMs)
    this.init.onSchedule?.(peerId, quietMs + this.init.fetchTimeoutMs)
  }

  /** Stops watching a peer; `quarantine` keeps it out for a while (longer each time it is dropped). */
  forget(peerId: string, reason: string, quarantine = true): void {
    if (!this.watches.delete(peerId)) return
    if (quarantine) {
      const strikes = (this.quarantine.get(peerId)?.strikes ?? 0) + 1
      const ms = Math.min(this.init.quarantineMs ?? 10 * 60_000, FIRST_QUARANTINE_MS * 2 ** (strikes - 1))
      this.quarantine.delete(peerId) // re-insert: the map stays ordered oldest first
      this.quarantine.set(peerId, { until: Date.now() + ms, strikes })
      if (this.quarantine.size > QUARANTINE_MAX) this.quarantine.delete(this.quarantine.keys().next().value as string)
    }
    this.init.onDrop?.(peerId, reason)
  }

  /** Newcomers go oldest first; a verified peer is never evicted for a newcomer. */
  private evictNewcomer(): boolean {
    for (const w of this.watches.values()) {
      if (!w.verified && !w.running && !this.init.isTrusted(w.peerId)) {
        this.forget(w.peerId, 'evicted for a newer unverified peer', false)
        return true
      }
    }
    return false
  }

  private wake(at: number): void {
    if (this.stopped || at >= this.wakeAt) return
    clearTimeout(this.timer)
    this.wakeAt = at
    this.timer = setTimeout(
      () => {
        this.wakeAt = Infinity
        this.pump()
      },
      Math.max(0, at - Date.now())
    )
    this.timer.unref?.()
  }

  /** Starts every due fetch that has a free slot in its pool, then sleeps until the next one is due. */
  private pump(): void {
    if (this.stopped) return
    const now = Date.now()
    const due: Array<{ w: Watch; trusted: boolean }> = []
    let next = Infinity
    for (const w of this.watches.values()) {
      if (w.running) continue
      if (w.nextAt <= now) due.push({ w, trusted: this.init.isTrusted(w.peerId) })
      else next = Math.min(next, w.nextAt)
    }
    due.sort((a, b) => a.w.nextAt - b.w.nextAt)
    const limits = { trusted: this.init.trustedConcurrency ?? 8, probation: this.init.probationConcurrency ?? 2 }
    for (const { w, trusted } of due) {
      const lane = trusted ? 'trusted' : 'probation'
      if (this.running[lane] >= limits[lane]) {
        next = Math.min(next, now + 50) // a slot frees when a fetch ends, which pumps again
        continue
      }
      this.run(w, lane)
    }
    if (next < Infinity) this.wake(next)
  }

  private run(w: Watch, lane: 'trusted' | 'probation'): void {
    w.running = true
    this.running[lane]++
    const timeoutMs = this.init.fetchTimeoutMs + (lane === 'probation' ? ADDRESS_DIAL_TIMEOUT_MS : 0)
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(timeoutMs)])
    this.init
      .refresh(w.peerId, { signal })
      .catch((): RefreshOutcome => 'failed')
      .then((outcome) => this.settle(w, outcome))
      .finally(() => {
        w.running = false
        this.running[lane]--
        this.pump()
      })
  }

  private settle(w: Watch, outcome: RefreshOutcome): void {
    const now = Date.now()
    const { baseIntervalMs, maxIntervalMs } = this.init
    w.tries++
    // a peer that serves nothing yet may serve soon: its first gossiped advert brings it back
    if (outcome === 'serves-nothing') return this.forget(w.peerId, outcome, false)
    if (outcome === 'forget') return this.forget(w.peerId, outcome)
    if (outcome === 'changed' || outcome === 'unchanged') {
      w.verified = true
      w.failures = 0
      w.intervalMs = outcome === 'changed' ? baseIntervalMs : Math.min(maxIntervalMs, Math.round(w.intervalMs * 1.5))
    } else {
      w.failures++
      if (
        !w.verified &&
        (w.tries >= (this.init.probationTries ?? 3) || now - w.addedAt > (this.init.probationMs ?? 60_000))
      ) {
        return this.forget(w.peerId, `no verified advert after ${w.tries} tries`)
      }
      // a live peer that missed one refresh is asked again soon; a dead one less and less often
      w.intervalMs = Math.min(maxIntervalMs * 4, baseIntervalMs * 2 ** Math.min(w.failures - 1, 6))
    }
    w.nextAt = now + w.intervalMs * (0.8 + 0.4 * Math.random())
    // silent for two of its own periods plus a fetch timeout: only then is it dead. A failed fetch
    // does not extend the silence promised at its last success or heartbeat (a frozen peer must die)
    if (w.failures === 0) this.init.onSchedule?.(w.peerId, 2 * w.intervalMs + this.init.fetchTimeoutMs)
  }
}
