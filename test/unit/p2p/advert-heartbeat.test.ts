import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import type { Advert } from '../../../shared/advert'
import { type AdvertContent, Advertiser, heartbeatMs, MAX_HEARTBEAT_MS } from '../../../electron/core/p2p/advertiser'
import { createLogger } from '../../../electron/core/util/logger'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const content: AdvertContent = {
  version: '0.1.0',
  paused: false,
  models: [{ name: 'meshwork-tiny', sha256: 'a'.repeat(64), params: 1000 }],
  benchmark: {},
  price: { perMillionTokens: 0, currency: 'credits' },
  load: { inflight: 0, queued: 0, capacity: 2 }
}

describe('advert heartbeat', () => {
  it('slows with the number of providers so that the mesh hears the same number of heartbeats a second', () => {
    expect(heartbeatMs(1)).toBe(10_000)
    expect(heartbeatMs(2)).toBe(10_000)
    expect(heartbeatMs(3)).toBe(15_000)
    expect(heartbeatMs(6)).toBe(30_000)
    expect(heartbeatMs(12)).toBe(60_000)
    expect(heartbeatMs(1_000)).toBe(MAX_HEARTBEAT_MS)
    // heartbeats per second from all providers together stay at one per 5 s up to the cap
    for (const n of [2, 3, 4, 6, 9, 12]) expect(n / (heartbeatMs(n) / 1000)).toBeCloseTo(0.2, 5)
    expect(heartbeatMs(6, 100)).toBe(300)
  })

  it('re-signs no later than the heartbeat its last advert promised, as the providers it knows grow', async () => {
    const key = await generateKeyPair('Ed25519')
    let providers = 2
    const signed: Advert[] = []
    const advertiser = new Advertiser(
      {
        peerId: peerIdFromPrivateKey(key).toString(),
        privateKey: key,
        logger: createLogger('test', { level: 'error' }),
        content: () => content,
        onSigned: (_envelope, advert) => signed.push(advert),
        providers: () => providers
      },
      { checkIntervalMs: 10, resignMs: 100 }
    )
    await advertiser.start()
    try {
      expect(signed[0].heartbeatMs).toBe(100)
      providers = 8 // the mesh grew: the next advert says 400 ms, but comes within the 100 promised (250: timer slack)
      await sleep(700)
      expect(signed[1].heartbeatMs).toBe(400)
      expect(signed[1].timestamp - signed[0].timestamp).toBeLessThan(250)
      // then the slower period holds: one advert per ~400 ms, not per 100
      const later = signed.slice(1)
      expect(later.length).toBeLessThanOrEqual(3)
      for (let i = 1; i < later.length; i++)
        expect(later[i].timestamp - later[i - 1].timestamp).toBeGreaterThanOrEqual(400)
    } finally {
      await advertiser.stop()
    }
  })
})
