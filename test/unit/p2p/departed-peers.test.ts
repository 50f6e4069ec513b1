import type { PeerId } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { type DepartedPeers, departedPeers } from '../../../electron/core/p2p/departed-peers'
import { kadTestNodes, tableHas } from '../../helpers/kad-test-nodes'
import { waitFor } from '../../helpers/wait'

const GRACE_MS = 300
const nodes = kadTestNodes()

afterEach(() => nodes.stopAll())

const node = (withDeparted: boolean): Promise<Libp2p<any>> =>
  nodes.start(withDeparted ? { departed: departedPeers({ graceMs: GRACE_MS, dialTimeoutMs: 2_000 }) } : {})

const storeHas = (node: Libp2p<any>, peer: PeerId): Promise<boolean> => node.peerStore.has(peer)

/** `router` with `count` peers in its routing table. */
async function meshOf(withDeparted: boolean, count: number) {
  const router = await node(withDeparted)
  const peers = await Promise.all(Array.from({ length: count }, () => node(false)))
  for (const peer of peers) await peer.dial(router.getMultiaddrs()[0])
  for (const peer of peers) await waitFor(() => tableHas(router, peer.peerId), 10_000, { what: 'peer in the table' })
  return { router, peers }
}

describe('peers that left', () => {
  // kad-dht keeps a peer in its routing table until a full bucket needs the place, and the peer store
  // keeps its record for hours: under churn a router's memory grew with every peer that ever joined
  it('are forgotten: out of the routing table and the peer store once they do not answer', async () => {
    const { router, peers } = await meshOf(true, 3)
    const [gone, alsoGone, staying] = peers
    await gone.stop()
    await alsoGone.stop()
    nodes.forget(gone)
    nodes.forget(alsoGone)
    for (const peer of [gone, alsoGone]) {
      await waitFor(async () => !(await tableHas(router, peer.peerId)), 10_000, { what: 'a departed peer dropped' })
      await waitFor(async () => !(await storeHas(router, peer.peerId)), 5_000, { what: 'its record deleted' })
    }
    expect(await tableHas(router, staying.peerId)).toBe(true)
    expect(await storeHas(router, staying.peerId)).toBe(true)
    expect((router.services.departed as DepartedPeers).counts.forgotten).toBe(2)
  })

  it('are kept when they answer: a cut connection is not a departure', async () => {
    const { router, peers } = await meshOf(true, 1)
    const [peer] = peers
    await router.hangUp(peer.peerId)
    const departed = router.services.departed as DepartedPeers
    await waitFor(() => departed.counts.answered === 1, 10_000, { what: 'the check to reach the peer' })
    expect(await tableHas(router, peer.peerId)).toBe(true)
    expect(await storeHas(router, peer.peerId)).toBe(true)
    expect(departed.counts.forgotten).toBe(0)
  })

  it('stay in the routing table without it (what the guard is for)', async () => {
    const { router, peers } = await meshOf(false, 1)
    await peers[0].stop()
    nodes.forget(peers[0])
    await new Promise((resolve) => setTimeout(resolve, 4 * GRACE_MS))
    expect(await tableHas(router, peers[0].peerId)).toBe(true)
  })
})
