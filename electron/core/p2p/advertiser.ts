import type { PrivateKey } from '@libp2p/interface'
import type { Advert } from '../../../shared/advert'
import type { Logger } from '../util/logger'
import type { Startable } from '../util/startable'
import { ADVERT_MAX_AGE_MS, sealAdvert } from './advert-envelope'

export type AdvertContent = Omit<Advert, 'peerId' | 'seq' | 'timestamp'>

export const ADVERT_TOPIC = 'meshwork/adverts/1'

/**
 * How often an unchanged advert is re-signed with a new sequence number. Each re-signed advert is
 * gossiped: it is the heartbeat that keeps this node alive in other tables without their polling,
 * and the only thing that brings it back where it was marked dead (an equal sequence never does).
 */
export const ADVERT_RESIGN_MS = 10_000

/** The re-sign period covers this many providers; more providers, each beats slower (below). */
const PROVIDERS_PER_PERIOD = 2
/**
 * A heartbeat comes twice within the age at which peers reject an advert: one lost in gossip is
 * fetched (after 1.5 periods) while the last one is still fresh. A quarter of that age held the
 * advert rate flat only up to 6 providers, half of it up to 12 (about a 100-peer mesh).
 */
export const MAX_HEARTBEAT_MS = ADVERT_MAX_AGE_MS / 2

/**
 * How often a provider re-signs an unchanged advert, given how many providers it knows (itself
 * included): the period grows with their number so that each node hears about the same number of
 * heartbeats a second however many serve, as RTCP spaces its reports by group size. Without it every
 * node's idle gossip grew with the number of providers in the mesh.
 */
export function heartbeatMs(providers: number, baseMs = ADVERT_RESIGN_MS): number {
  const scaled = Math.round((baseMs * providers) / PROVIDERS_PER_PERIOD)
  return Math.max(baseMs, Math.min(MAX_HEARTBEAT_MS, scaled))
}

export interface AdvertiserComponents {
  peerId: string
  privateKey: PrivateKey
  logger: Logger
  /** What to announce now; undefined while this node serves nothing. */
  content: () => AdvertContent | undefined
  /** Gets every newly signed advert (to gossip it). */
  onSigned: (envelope: Uint8Array, advert: Advert) => void
  /** Providers this node knows alive, itself included (sets the heartbeat; default 1). */
  providers?: () => number
}

export interface AdvertiserInit {
  /** How often the content is checked for changes (default 1 s). */
  checkIntervalMs?: number
  resignMs?: number
}

/**
 * Keeps this node's signed advert current: re-signed whenever its content changes and every
 * ADVERT_RESIGN_MS. Sequence numbers only grow, also across restarts (they start from the clock).
 * `onSigned` gets every newly signed advert (to gossip it).
 */
export class Advertiser implements Startable {
  private envelope?: Uint8Array
  private advert?: Advert
  private lastContent = ''
  private seq = 0
  private timer?: NodeJS.Timeout

  constructor(
    private readonly components: AdvertiserComponents,
    private readonly init: AdvertiserInit = {}
  ) {}

  async start(): Promise<void> {
    await this.refresh()
    this.timer = setInterval(() => {
      this.refresh().catch((err) => this.components.logger.error('advert refresh failed', { err }))
    }, this.init.checkIntervalMs ?? 1_000)
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
  }

  current(): Uint8Array | undefined {
    return this.envelope
  }

  currentAdvert(): Advert | undefined {
    return this.advert
  }

  /** Re-sign if the content changed or the last signature is older than the re-sign period. */
  async refresh(): Promise<void> {
    const content = this.components.content()
    if (content === undefined) {
      this.envelope = undefined
      this.advert = undefined
      return
    }
    const text = JSON.stringify(content)
    const age = Date.now() - (this.advert?.timestamp ?? 0)
    const resignMs = Math.min(this.init.resignMs ?? ADVERT_RESIGN_MS, MAX_HEARTBEAT_MS)
    // the period the last advert promised, not today's: peers count on that one
    if (text === this.lastContent && age < (this.advert?.heartbeatMs ?? resignMs)) return
    const now = Date.now()
    this.seq = Math.max(this.seq + 1, now)
    const heartbeat = heartbeatMs(this.components.providers?.() ?? 1, resignMs)
    const advert: Advert = {
      peerId: this.components.peerId,
      seq: this.seq,
      timestamp: now,
      ...content,
      heartbeatMs: heartbeat
    }
    this.envelope = await sealAdvert(advert, this.components.privateKey)
    this.advert = advert
    this.lastContent = text
    this.components.onSigned(this.envelope, advert)
  }
}
