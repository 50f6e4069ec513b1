import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerInfo } from '@libp2p/interface'
import type { QueryEvent } from '@libp2p/kad-dht'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { modelCid } from '../../../electron/core/p2p/model-cid'
import { lookupProviders, QUIET_RESPONSES } from '../../../electron/core/p2p/provider-lookup'

async function peer(): Promise<PeerInfo> {
  return { id: peerIdFromPrivateKey(await generateKeyPair('Ed25519')), multiaddrs: [] }
}

/** A DHT whose lookup answers with `answers` (the providers each responding peer names), and counts what was asked. */
function dht(answers: PeerInfo[][], from: PeerInfo) {
  let asked = 0
  return {
    get asked() {
      return asked
    },
    async *findProviders(): AsyncGenerator<QueryEvent> {
      const seen = new Set<string>()
      for (const providers of answers) {
        asked++
        yield { name: 'PEER_RESPONSE', type: 1, from: from.id, providers, closer: [] } as unknown as QueryEvent
        const fresh = providers.filter((p) => !seen.has(p.id.toString()))
        for (const p of fresh) seen.add(p.id.toString())
        if (fresh.length > 0)
          yield { name: 'PROVIDER', type: 4, from: from.id, providers: fresh } as unknown as QueryEvent
      }
    }
  }
}

describe('provider lookup', () => {
  it(`stops once ${QUIET_RESPONSES} answers in a row name nothing new, after the record holders answered`, async () => {
    const [a, b, other] = await Promise.all([peer(), peer(), peer()])
    const answers = [[], [a], [a, b], [a, b], [a], [a, b], [], [], [], [], [], []]
    const fake = dht(answers, other)
    const known = new Set<string>()
    const found: string[] = []
    for await (const p of lookupProviders(fake, await modelCid('m'), { known: (id) => known.has(id) })) {
      found.push(p.id.toString())
      known.add(p.id.toString()) // the caller watches what it is given
    }
    expect(found).toEqual([a.id.toString(), b.id.toString()])
    expect(fake.asked).toBe(3 + QUIET_RESPONSES) // not all 12
  })

  it('asks everyone while nobody names a provider, and while answers keep bringing new ones', async () => {
    const other = await peer()
    const silent = dht(new Array(12).fill([]), other)
    for await (const _ of lookupProviders(silent, await modelCid('m'), { known: () => false })) void _
    expect(silent.asked).toBe(12)

    const many = await Promise.all(Array.from({ length: 8 }, peer))
    const growing = dht(
      many.map((p) => [p]),
      other
    )
    const found: PeerInfo[] = []
    const known = new Set<string>()
    for await (const p of lookupProviders(growing, await modelCid('m'), { known: (id) => known.has(id) })) {
      found.push(p)
      known.add(p.id.toString())
    }
    expect(found).toHaveLength(8)
  })
})
