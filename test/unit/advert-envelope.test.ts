import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import { describe, expect, it } from 'vitest'
import type { Advert } from '../../shared/advert'
import { createEvents } from '../../electron/core/events'
import { ADVERT_CODEC, ADVERT_DOMAIN, openAdvert, sealAdvert } from '../../electron/core/p2p/advert-envelope'
import { PeerDirectory } from '../../electron/core/p2p/peer-directory'

async function makeAdvert(overrides: Partial<Advert> = {}) {
  const key = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(key).toString()
  const advert: Advert = {
    peerId,
    version: '0.1.0',
    seq: 10,
    timestamp: Date.now(),
    paused: false,
    models: [{ name: 'meshwork-tiny', sha256: 'a'.repeat(64), params: 1000 }],
    benchmark: {
      'meshwork-tiny': { decodeTokensPerSecond: 100, prefillTokensPerSecond: 500, ttftMs: 20, gflops: 0.2 }
    },
    price: { perMillionTokens: 0, currency: 'credits' },
    load: { inflight: 0, queued: 0, capacity: 2 },
    ...overrides
  }
  return { key, peerId, advert }
}

describe('signed adverts', () => {
  it('round-trips and checks the signer', async () => {
    const { key, peerId, advert } = await makeAdvert()
    const bytes = await sealAdvert(advert, key)
    await expect(openAdvert(bytes, { expectedSigner: peerId })).resolves.toEqual(advert)
  })

  it('rejects a changed field', async () => {
    const { key, advert } = await makeAdvert()
    const bytes = await sealAdvert(advert, key)
    const envelope = RecordEnvelope.createFromProtobuf(bytes)
    const forged = new TextEncoder().encode(
      new TextDecoder().decode(envelope.payload).replace('"paused":false', '"paused":true')
    )
    const tampered = new RecordEnvelope({
      ...envelope,
      payload: forged,
      signature: envelope.signature,
      publicKey: envelope.publicKey,
      payloadType: envelope.payloadType
    })
    await expect(openAdvert(tampered.marshal())).rejects.toThrow(/signature/)
    // a benchmark number inflated by one bit flip in the payload is caught too
    const flipped = Uint8Array.from(bytes)
    flipped[flipped.length - 80] ^= 1
    await expect(openAdvert(flipped)).rejects.toThrow(/Advert rejected/)
  })

  it('rejects an advert signed with another key than the peer it names or the remote peer', async () => {
    const { advert } = await makeAdvert()
    const other = await generateKeyPair('Ed25519')
    await expect(openAdvert(await sealAdvert(advert, other))).rejects.toThrow(/another peer/)
    const mine = await makeAdvert()
    const bytes = await sealAdvert(mine.advert, mine.key)
    await expect(openAdvert(bytes, { expectedSigner: advert.peerId })).rejects.toThrow(/not by the remote peer/)
  })

  it('rejects stale and future timestamps', async () => {
    const stale = await makeAdvert({ timestamp: Date.now() - 10 * 60_000 })
    await expect(openAdvert(await sealAdvert(stale.advert, stale.key))).rejects.toThrow(/stale/)
    const future = await makeAdvert({ timestamp: Date.now() + 10 * 60_000 })
    await expect(openAdvert(await sealAdvert(future.advert, future.key))).rejects.toThrow(/future/)
  })

  it('rejects another record type signed in our domain, garbage, and oversized frames', async () => {
    const { key, advert } = await makeAdvert()
    const record = {
      domain: ADVERT_DOMAIN,
      codec: new TextEncoder().encode('/other/1'),
      marshal: () => new TextEncoder().encode(JSON.stringify(advert)),
      equals: () => false
    }
    await expect(openAdvert((await RecordEnvelope.seal(record, key)).marshal())).rejects.toThrow(/not an advert/)
    const wrongDomain = { ...record, domain: 'libp2p-peer-record', codec: ADVERT_CODEC }
    await expect(openAdvert((await RecordEnvelope.seal(wrongDomain, key)).marshal())).rejects.toThrow(/signature/)
    await expect(openAdvert(new Uint8Array(1000).fill(7))).rejects.toThrow(/Advert rejected/)
    await expect(openAdvert(new Uint8Array(10 * 1024 * 1024))).rejects.toThrow(/over the limit/)
  })

  it('rejects malformed content even when properly signed', async () => {
    const { key, advert } = await makeAdvert()
    const bad = { ...advert, models: [{ name: '../../etc', sha256: 'nothex', params: -1 }] }
    await expect(openAdvert(await sealAdvert(bad as Advert, key))).rejects.toThrow(/malformed/)
  })

  it('never accepts a lower sequence number than one already seen (replay)', async () => {
    const { advert } = await makeAdvert()
    const directory = new PeerDirectory(createEvents(), 10_000)
    expect(directory.accept(advert).accepted).toBe(true)
    expect(directory.accept({ ...advert, seq: 11, paused: true }).accepted).toBe(true)
    const replay = directory.accept({ ...advert, seq: 10, paused: false })
    expect(replay).toEqual({ accepted: false, reason: expect.stringMatching(/replayed/) })
    expect(directory.get(advert.peerId)?.advert.paused).toBe(true)
  })
})
