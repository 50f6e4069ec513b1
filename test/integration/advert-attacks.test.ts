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
import { killAllNodes, startNode, type NodeProcess } from '../helpers/node-process'
import { waitFor } from '../helpers/wait'

type Attack = 'tampered' | 'wrong-key' | 'stale' | 'huge' | 'garbage'

/** The victim's log line that shows it fetched this attacker's advert and refused it, and why. */
const REFUSAL: Record<Attack, RegExp> = {
  tampered: /advert rejected .*signature/,
  'wrong-key': /advert rejected .*not by the remote peer/,
  stale: /advert rejected .*stale/,
  huge: /advert fetch failed .*(length|too long|exceeds)/i,
  garbage: /advert rejected .*bad envelope/
}

/** A peer that answers the advert protocol with a hostile frame. */
async function startAttacker(attack: Attack): Promise<MeshLibp2p> {
  const key = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(key).toString()
  const config = loadConfig(
    { dataDir: '/nonexistent-unused', p2pHost: '127.0.0.1', mdns: false, addressScope: 'loopback' },
    {}
  )
  const libp2p = await createMeshLibp2p(key, config)
  await libp2p.start()
  const advert: Advert = {
    peerId,
    version: '0.1.0',
    seq: 1,
    timestamp: Date.now(),
    paused: false,
    models: [{ name: 'evil-model', sha256: 'b'.repeat(64), params: 1 }],
    benchmark: {},
    price: { perMillionTokens: 0, currency: 'credits' },
    load: { inflight: 0, queued: 0, capacity: 1 }
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
    for (let i = 0; i < frame.byteLength && stream.status === 'open'; i += 65536)
      stream.send(frame.subarray(i, i + 65536))
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
    // debug: a fetch that fails (the huge frame) is logged at debug level
    victim = await startNode({ args: ['--no-serve'], env: { MESHWORK_LOG_LEVEL: 'debug' } })
  })
  afterAll(async () => {
    await Promise.all(attackers.map((a) => a.stop()))
    await killAllNodes()
  })

  /** The victim's log lines about one peer. */
  const linesAbout = (peerId: string): string[] =>
    victim
      .logs()
      .split('\n')
      .filter((l) => l.includes(peerId))

  for (const attack of ['tampered', 'wrong-key', 'stale', 'huge', 'garbage'] as const) {
    it(`fetches a ${attack} advert, refuses it and stays up`, async () => {
      const attacker = await startAttacker(attack)
      attackers.push(attacker)
      const id = attacker.peerId.toString()
      await attacker.dial(multiaddr(victim.multiaddr))
      await attacker.services.pubsub.publish(ADVERT_TOPIC, crypto.getRandomValues(new Uint8Array(512))).catch(() => {})
      // the victim fetches the advert once identify shows the protocol: wait for its verdict on it
      const verdict = await waitFor(() => linesAbout(id).find((l) => REFUSAL[attack].test(l)), 15_000, {
        what: `the victim to fetch and refuse the ${attack} advert`,
        state: () => `its lines about the attacker: ${JSON.stringify(linesAbout(id).slice(-5))}`
      })
      console.log(`${attack}: ${verdict.slice(verdict.indexOf('advert'))}`)
      const peers = await victim.get('/api/peers?all=1')
      expect(peers.peers.map((p: { peerId: string }) => p.peerId)).not.toContain(id)
      const status = await victim.get('/api/status')
      expect(status.peerId).toBe(victim.peerId)
      expect(victim.proc.exitCode).toBeNull()
    })
  }
})
