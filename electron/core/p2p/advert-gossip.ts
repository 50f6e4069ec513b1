import { TopicValidatorResult, type Message, type TopicValidatorFn } from '@libp2p/gossipsub'
import { createTopicScoreParams, type TopicScoreParams } from '@libp2p/gossipsub/score'
import { MAX_ADVERT_BYTES, type Advert } from '../../../shared/advert'
import { ADVERT_MAX_AGE_MS, ADVERT_MAX_SKEW_MS, openAdvert } from './advert-envelope'

export interface AdvertValidatorInit {
  selfPeerId: string
  /** The highest sequence number this node holds for a peer, if any. */
  knownSeq: (peerId: string) => number | undefined
  /**
   * Adverts of peers this node does not hold yet, taken per second (and in a burst). Fresh identities
   * cost nothing, and one such advert only starts a fetch, so past this they are ignored unverified:
   * a flood is neither checked at length nor forwarded. Known peers' adverts are never limited.
   */
  newPeersPerSecond?: number
  newPeersBurst?: number
  /** Counts verdicts, for logs and tests. */
  onVerdict?: (verdict: TopicValidatorResult, reason: string) => void
}

/**
 * Verified adverts by message payload, so the message handler does not verify a signature twice.
 * Weak: an entry lives as long as gossipsub holds the message.
 */
const verified = new WeakMap<Uint8Array, Advert>()

export function verifiedAdvertOf(message: Message): Advert | undefined {
  return verified.get(message.data)
}

/**
 * Gossipsub validator for the advert topic. Reject (the sender's score falls, and it is graylisted
 * after a few) for what no honest relay forwards: an unsigned message, an oversized one, a bad
 * signature, or an advert whose signer is not the message's author (a peer relaying someone else's
 * advert as its own). Ignore (not forwarded, not penalised) for what time or order can explain: a
 * stale or future timestamp, or a sequence number this node already has.
 */
export function advertTopicValidator(init: AdvertValidatorInit): TopicValidatorFn {
  const verdict = (result: TopicValidatorResult, reason: string): TopicValidatorResult => {
    init.onVerdict?.(result, reason)
    return result
  }
  const bucket = new TokenBucket(init.newPeersPerSecond ?? 5, init.newPeersBurst ?? 20)
  return async (_propagationSource, message) => {
    if (message.type !== 'signed') return verdict(TopicValidatorResult.Reject, 'unsigned message')
    if (message.data.byteLength > MAX_ADVERT_BYTES) return verdict(TopicValidatorResult.Reject, 'oversized advert')
    // gossipsub has checked that `from` signed the message; an advert from anyone else is rejected below
    if (init.knownSeq(message.from.toString()) === undefined && !bucket.take()) {
      return verdict(TopicValidatorResult.Ignore, 'too many adverts of new peers')
    }
    let advert: Advert
    try {
      // freshness is judged below: a relay cannot be blamed for the time a message took
      advert = await openAdvert(message.data, {
        expectedSigner: message.from.toString(),
        maxAgeMs: Infinity,
        maxSkewMs: Infinity
      })
    } catch (err) {
      return verdict(TopicValidatorResult.Reject, (err as Error).message)
    }
    const now = Date.now()
    if (advert.timestamp < now - ADVERT_MAX_AGE_MS || advert.timestamp > now + ADVERT_MAX_SKEW_MS) {
      return verdict(TopicValidatorResult.Ignore, 'timestamp out of range')
    }
    if (advert.peerId === init.selfPeerId) return verdict(TopicValidatorResult.Ignore, 'own advert')
    const seq = init.knownSeq(advert.peerId)
    if (seq !== undefined && advert.seq <= seq) return verdict(TopicValidatorResult.Ignore, 'sequence already seen')
    verified.set(message.data, advert)
    return verdict(TopicValidatorResult.Accept, 'ok')
  }
}

/** `rate` tokens per second, at most `burst` saved up. */
class TokenBucket {
  private tokens: number
  private at = Date.now()

  constructor(
    private readonly rate: number,
    private readonly burst: number
  ) {
    this.tokens = burst
  }

  take(): boolean {
    const now = Date.now()
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate)
    this.at = now
    if (this.tokens < 1) return false
    this.tokens--
    return true
  }
}

/**
 * Score parameters for the advert topic: only invalid messages count (P4), strongly and slowly
 * forgotten, so a peer that forwards forged adverts is graylisted after a few. Quiet honest peers
 * are not penalised (delivery-rate terms are off: adverts are rare by design).
 */
export function advertTopicScoreParams(): TopicScoreParams {
  return createTopicScoreParams({
    topicWeight: 1,
    timeInMeshWeight: 0,
    firstMessageDeliveriesWeight: 0,
    meshMessageDeliveriesWeight: 0,
    meshFailurePenaltyWeight: 0,
    invalidMessageDeliveriesWeight: -20,
    invalidMessageDeliveriesDecay: 0.99
  })
}
