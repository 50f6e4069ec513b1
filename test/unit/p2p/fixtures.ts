import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Advert } from '../../../shared/advert'

/** A fresh identity and an advert it may sign. */
export async function freshAdvert(overrides: Partial<Advert> = {}) {
  const key = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(key)
  const advert: Advert = {
    peerId: peerId.toString(),
    version: '0.1.0',
    seq: 10,
    timestamp: Date.now(),
    paused: false,
    models: [{ name: 'meshwork-tiny', sha256: 'a'.repeat(64), params: 1000 }],
    benchmark: {},
    price: { perMillionTokens: 0, currency: 'credits' },
    load: { inflight: 0, queued: 0, capacity: 2 },
    ...overrides
  }
  return { key, peerId, advert }
}
