import { type PeerEvidence, SPEED_MIN_SAMPLES, bestRecent, speedLie } from './evidence'

export interface SpeedRuleOptions {
  /** The decode speed a provider's advert claims (max over its models). */
  advertSpeed?: (peerId: string) => number | undefined
  /** The samples must span at least this long (a burst of jobs in one busy moment is one moment). */
  speedSpanMs?: number
}

/**
 * The speed rule over every provider's recent decode samples: an advert far above what this node
 * measures, of the provider and of its peers, is a lie. It reads the engine's evidence, never writes it.
 */
export class SpeedRule {
  constructor(
    private readonly peers: ReadonlyMap<string, PeerEvidence>,
    private readonly options: SpeedRuleOptions,
    private readonly now: () => number
  ) {}

  /** The detail of a 'slow' verdict when the rule holds over the recorded samples, else undefined. */
  verdict(peerId: string): string | undefined {
    const e = this.peers.get(peerId)
    const advert = this.options.advertSpeed?.(peerId)
    if (
      e === undefined ||
      !this.spanned(e.speedSampleAt, this.now()) ||
      !speedLie(e.speedSamples, advert, this.othersSpeed(peerId))
    )
      return undefined
    const best = bestRecent(e.speedSamples)
    return `at most ${best.toFixed(1)} tok/s over the last ${SPEED_MIN_SAMPLES} samples; its advert claims ${advert}`
  }

  /** Whether the rule holds with one more sample (a challenge's own, before it is recorded). */
  lieWith(peerId: string, sample: number): boolean {
    const e = this.peers.get(peerId)
    const now = this.now()
    if (!this.spanned([...(e?.speedSampleAt ?? []), now], now)) return false
    return speedLie([...(e?.speedSamples ?? []), sample], this.options.advertSpeed?.(peerId), this.othersSpeed(peerId))
  }

  /** Whether the last SPEED_MIN_SAMPLES samples were taken over at least `speedSpanMs`. */
  private spanned(at: readonly number[], now: number): boolean {
    const recent = at.slice(-SPEED_MIN_SAMPLES)
    return recent.length >= SPEED_MIN_SAMPLES && now - recent[0] >= (this.options.speedSpanMs ?? 20_000)
  }

  /**
   * What this node measures of the other providers (best recent decode speed): the lower quartile,
   * so an honest box is compared with the slower of its peers, and one liar among them cannot
   * shield another unless liars are a quarter of them.
   */
  othersSpeed(peerId: string): number | undefined {
    const speeds: number[] = []
    for (const [peer, e] of this.peers)
      if (peer !== peerId && e.speedSamples.length > 0) speeds.push(bestRecent(e.speedSamples))
    if (speeds.length === 0) return undefined
    speeds.sort((a, b) => a - b)
    return speeds[Math.floor((speeds.length - 1) / 4)]
  }
}
