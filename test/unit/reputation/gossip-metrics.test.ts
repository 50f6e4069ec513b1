import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../../electron/core/config'
import { contentMsgId } from '../../../electron/core/p2p/gossip-config'
import { createNode, type MeshworkNode } from '../../../electron/core/node'
import { createLogger } from '../../../electron/core/util/logger'
import { GOSSIP_DROP_REASONS, REPUTATION_TOPIC } from '../../../shared/reputation'
import { waitFor } from '../../helpers/wait'

// A whole node in this process (no runtime): a rogue peer gossips summaries the node must drop, and
// the node's own /metrics says so, by reason. This is the node's wiring, not just the metric's.

const OTHER_PEER = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
const encode = (x: unknown): Uint8Array => new TextEncoder().encode(typeof x === 'string' ? x : JSON.stringify(x))

function droppedCount(text: string, reason: string): number | undefined {
  const match = new RegExp(`^meshwork_reputation_gossip_dropped_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(text)
  return match === null ? undefined : Number(match[1])
}

describe('reputation gossip drops in /metrics', () => {
  let node: MeshworkNode
  let rogue: Libp2p<{ pubsub: GossipSub; identify: unknown }>
  const dataDir = mkdtempSync(join(tmpdir(), 'meshwork-gossip-metrics-'))
  const metrics = async (): Promise<string> => (await fetch(`${node.apiUrl}/metrics`)).text()

  beforeAll(async () => {
    const config = loadConfig(
      {
        dataDir,
        apiPort: 0,
        p2pHost: '127.0.0.1',
        p2pPort: 0,
        mdns: false,
        serve: false,
        addressScope: 'loopback'
      },
      {}
    )
    node = await createNode(config, { logger: createLogger('test', { level: 'error' }) })
    await node.start()
    rogue = (await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, msgIdFn: contentMsgId })
      }
    })) as Libp2p<{ pubsub: GossipSub; identify: unknown }>
    rogue.services.pubsub.subscribe(REPUTATION_TOPIC)
    const { multiaddrs } = await node.control.status()
    await rogue.dial(multiaddr(multiaddrs[0]))
    const target = peerIdFromString(node.peerId)
    await waitFor(() => rogue.services.pubsub.getSubscribers(REPUTATION_TOPIC).some((p) => p.equals(target)), 20_000, {
      what: "the node's subscription to the reputation topic"
    })
  }, 60_000)

  afterAll(async () => {
    await rogue?.stop()
    await node?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }, 60_000)

  it('lists every drop reason, and only those, at zero before any gossip', async () => {
    const text = await metrics()
    for (const reason of GOSSIP_DROP_REASONS) expect(droppedCount(text, reason)).toBe(0)
    const labels = [...text.matchAll(/^meshwork_reputation_gossip_dropped_total\{reason="([^"]*)"\}/gm)].map(
      (m) => m[1]
    )
    expect(new Set(labels)).toEqual(new Set(GOSSIP_DROP_REASONS))
  })

  it('counts a forged and a malformed summary under their reasons', async () => {
    const now = Date.now()
    // signed by the rogue, but claiming to be another peer's report
    const forged = {
      v: 1,
      reporter: OTHER_PEER,
      seq: now,
      at: now,
      subjects: [{ peer: OTHER_PEER, positive: 9, negative: 0 }]
    }
    await rogue.services.pubsub.publish(REPUTATION_TOPIC, encode(forged))
    await rogue.services.pubsub.publish(REPUTATION_TOPIC, encode(`{"v":1,"reporter":"${rogue.peerId}", "seq":`))
    const text = await waitFor(
      async () => {
        const t = await metrics()
        return droppedCount(t, 'forged') === 1 && droppedCount(t, 'malformed') === 1 && t
      },
      20_000,
      { what: 'forged=1 and malformed=1 in /metrics', state: metrics }
    )
    expect(droppedCount(text, 'replay')).toBe(0)
    expect(text).toMatch(/^meshwork_reputation_gossip_accepted_total 0$/m)
  })
})
