import { TopicValidatorResult, type Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { describe, expect, it } from 'vitest'
import { sealAdvert } from '../../../electron/core/p2p/advert-envelope'
import { advertTopicValidator, verifiedAdvertOf } from '../../../electron/core/p2p/advert-gossip'
import { ADVERT_TOPIC } from '../../../electron/core/p2p/advertiser'
import { freshAdvert } from './fixtures'

function signedMessage(from: PeerId, data: Uint8Array): Message {
  // gossipsub has already checked the message signature against `from` (StrictSign) when a validator runs
  return {
    type: 'signed',
    from,
    topic: ADVERT_TOPIC,
    data,
    sequenceNumber: 1n,
    signature: new Uint8Array(64),
    key: from.publicKey!
  }
}

describe('advert topic validator', () => {
  const known = new Map<string, number>()
  const validate = advertTopicValidator({ selfPeerId: 'self', knownSeq: (id) => known.get(id) })

  it('accepts an advert published by its own signer, and hands it on verified', async () => {
    const { key, peerId, advert } = await freshAdvert()
    const message = signedMessage(peerId, await sealAdvert(advert, key))
    expect(await validate(peerId, message)).toBe(TopicValidatorResult.Accept)
    expect(verifiedAdvertOf(message)).toEqual(advert)
  })

  it('rejects an advert published by another peer than its signer (relayed as its own)', async () => {
    const provider = await freshAdvert()
    const relay = await freshAdvert()
    const message = signedMessage(relay.peerId, await sealAdvert(provider.advert, provider.key))
    expect(await validate(relay.peerId, message)).toBe(TopicValidatorResult.Reject)
    expect(verifiedAdvertOf(message)).toBeUndefined()
  })

  it('rejects a forged signature, garbage, an unsigned message and an oversized one', async () => {
    const { key, peerId, advert } = await freshAdvert()
    const bytes = await sealAdvert(advert, key)
    const tampered = Uint8Array.from(bytes)
    tampered[tampered.length - 80] ^= 1
    expect(await validate(peerId, signedMessage(peerId, tampered))).toBe(TopicValidatorResult.Reject)
    expect(await validate(peerId, signedMessage(peerId, crypto.getRandomValues(new Uint8Array(700))))).toBe(
      TopicValidatorResult.Reject
    )
    expect(await validate(peerId, { type: 'unsigned', topic: ADVERT_TOPIC, data: bytes })).toBe(
      TopicValidatorResult.Reject
    )
    expect(await validate(peerId, signedMessage(peerId, new Uint8Array(65 * 1024)))).toBe(TopicValidatorResult.Reject)
  })

  it('ignores (neither forwards nor penalises) a stale advert and a sequence already held', async () => {
    const stale = await freshAdvert({ timestamp: Date.now() - 10 * 60_000 })
    expect(await validate(stale.peerId, signedMessage(stale.peerId, await sealAdvert(stale.advert, stale.key)))).toBe(
      TopicValidatorResult.Ignore
    )
    const { key, peerId, advert } = await freshAdvert({ seq: 7 })
    known.set(peerId.toString(), 7)
    expect(await validate(peerId, signedMessage(peerId, await sealAdvert(advert, key)))).toBe(
      TopicValidatorResult.Ignore
    )
    expect(await validate(peerId, signedMessage(peerId, await sealAdvert({ ...advert, seq: 8 }, key)))).toBe(
      TopicValidatorResult.Accept
    )
  })

  it('takes adverts of new peers at a bounded rate, and ignores the rest unverified', async () => {
    const seen = new Map<string, number>()
    const limited = advertTopicValidator({
      selfPeerId: 'self',
      knownSeq: (id) => seen.get(id),
      newPeersPerSecond: 1,
      newPeersBurst: 5
    })
    const verdicts: string[] = []
    for (let i = 0; i < 30; i++) {
      const { key, peerId, advert } = await freshAdvert()
      verdicts.push(await limited(peerId, signedMessage(peerId, await sealAdvert(advert, key))))
    }
    expect(verdicts.filter((v) => v === TopicValidatorResult.Accept).length).toBeLessThanOrEqual(6)
    expect(verdicts.filter((v) => v === TopicValidatorResult.Ignore).length).toBeGreaterThanOrEqual(24)
    // a peer this node holds is never limited
    const { key, peerId, advert } = await freshAdvert({ seq: 3 })
    seen.set(peerId.toString(), 2)
    expect(await limited(peerId, signedMessage(peerId, await sealAdvert(advert, key)))).toBe(
      TopicValidatorResult.Accept
    )
  })
})
