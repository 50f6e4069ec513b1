import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import * as varint from 'uint8-varint'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Advert } from '../../shared/advert'
import { loadConfig } from '../../electron/core/config'
import { sealAdvert } from '../../electron/core/p2p/advert-envelope'
import { ADVERT_PROTOCOL } from '../../electron/core/p2p/advert-protocol'
import { ADVERT_TOPIC } from '../../electron/core/p2p/advertiser'
import { createMeshLibp2p, type MeshLibp2p } from '../../electron/core/p2p/libp2p'
import { killAllNodes, startNode, waitFor, type NodeProcess } from '../helpers/node-process'

type Attack = 'tampered' | 'wrong-key' | 'stale' | 'huge' | 'garbage'

/** A peer that answers the advert protocol with a hostile frame. */
async function startAttacker(attack: Attack): Promise<MeshLibp2p> {
  const key = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(key).toString()
  const config = loadConfig({ dataDir: '/nonexistent-unused', p2pHost: '127.0.0.1', mdns: false, addressScope: 'loopback' }, {})
  const libp2p = await createMeshLibp2p(key, config)
  await libp2p.start()
  const advert: Advert = {
    peerId, version: '0.1.0', seq: 1, timestamp: Date.now(), paused: false,
    models: [{ name: 'evil-model', sha256: 'b'.repeat(64), params: 1 }],
    benchmark: {}, price: { perMillionTokens: 0, currency: 'credits' }, load: { inflight: 0, queued: 0, capacity: 1 }
  }
  let frame: Uint8Array
  if (attack === 'tampered') {
    const bytes = await sealAdvert(advert, key)
    frame = Uint8Array.from(bytes)
    frame[frame.length - 70] ^= 0xff
  } else if (attack === 'wrong-key') {
    const other = await generateKeyPair('Ed25519')
    frame = await sealAdvert({ ...advert, peerId: peerIdFromPrivateKey(other).toString() }, other)
  } else if (attack === 'stale') {
    frame = await sealAdvert({ ...advert, timestamp: Date.now() - 3_600_000 }, key)
  } else if (attack === 'garbage') {
    frame = crypto.getRandomValues(new Uint8Array(3000))
  } else {
    frame = new Uint8Array(10 * 1024 * 1024)
  }
  await libp2p.handle(ADVERT_PROTOCOL, async (stream) => {
    // hand-written length prefix so the huge frame really claims and sends 10 MB
    stream.send(varint.encode(frame.byteLength))
    for (let i = 0; i < frame.byteLength && stream.status === 'open'; i += 65536) stream.send(frame.subarray(i, i + 65536))
    await stream.close().catch(() => {})
  })
  // gossip garbage and a forged advert too
  libp2p.services.pubsub.subscribe(ADVERT_TOPIC)
  return libp2p
}

describe('hostile adverts', () => {
  let victim: NodeProcess
  const attackers: MeshLibp2p[] = []

  beforeAll(async () => {
    victim = await startNode({ args: ['--no-serve'] })
  })
  afterAll(async () => {
    await Promise.all(attackers.map((a) => a.stop()))
    await killAllNodes()
  })

  for (const attack of ['tampered', 'wrong-key', 'stale', 'huge', 'garbage'] as const) {
    it(`rejects a ${attack} advert and stays up`, async () => {
      const attacker = await startAttacker(attack)
      attackers.push(attacker)
      await attacker.dial(multiaddr(victim.multiaddr))
      await attacker.services.pubsub.publish(ADVERT_TOPIC, crypto.getRandomValues(new Uint8Array(512))).catch(() => {})
      // the victim fetches the advert when identify shows the protocol; wait for the rejection in its log
      await waitFor(() => /advert rejected|advert fetch failed/.test(victim.logs()) || victim.logs().includes(attacker.peerId.toString()), 3_000).catch(() => {})
      await new Promise((r) => setTimeout(r, 1_500))
      const peers = await victim.get('/api/peers?all=1')
      expect(peers.peers.map((p: { peerId: string }) => p.peerId)).not.toContain(attacker.peerId.toString())
      const status = await victim.get('/api/status')
      expect(status.peerId).toBe(victim.peerId)
      expect(victim.proc.exitCode).toBeNull()
    })
  }

  it('logged each rejection with its reason', () => {
    const log = victim.logs()
    expect(log).toMatch(/advert rejected.*signature/)
    expect(log).toMatch(/advert rejected.*not by the remote peer/)
    expect(log).toMatch(/advert rejected.*stale/)
  })
})
