import type { Libp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { type ConnectedContacts, connectedContacts } from '../../../electron/core/p2p/connected-contacts'
import { kadTestNodes, tableHas } from '../../helpers/kad-test-nodes'
import { waitFor } from '../../helpers/wait'

// no node runs a lookup of its own during a test (each test runs the one it needs), and a lookup
// need not wait for the first of those
const nodes = kadTestNodes({
  initialQuerySelfInterval: 600_000,
  querySelfInterval: 600_000,
  allowQueryWithZeroPeers: true
})

afterEach(() => nodes.stopAll())

const node = (withGuard: boolean): Promise<Libp2p<any>> =>
  nodes.start(withGuard ? { contacts: connectedContacts() } : {})

const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 250))
const connectedTo = (node: Libp2p<any>): string[] => [
  ...new Set(node.getConnections().map((c) => c.remotePeer.toString()))
]

/**
 * A hub with six peers in its table, and a newcomer that joins through it and looks up the hub's own
 * id: the hub's answer names all six, and none is closer to the key than the hub, so the lookup
 * itself queries the hub alone.
 */
async function newcomerLooksUp(withGuard: boolean) {
  const hub = await node(false)
  const peers = await Promise.all(Array.from({ length: 6 }, () => node(false)))
  // one at a time, under libp2p's limit of 5 inbound connections per host and second
  for (const peer of peers) await peer.dial(hub.getMultiaddrs()[0]).then(pause)
  for (const peer of peers) await waitFor(() => tableHas(hub, peer.peerId), 10_000, { what: 'peer in the hub table' })
  const newcomer = await node(withGuard)
  await newcomer.dial(hub.getMultiaddrs()[0])
  await waitFor(() => tableHas(newcomer, hub.peerId), 10_000, { what: 'the hub in the newcomer table' })
  for await (const _ of newcomer.services.dht.getClosestPeers(hub.peerId.toMultihash().bytes));
  return { hub, peers, newcomer }
}

describe('routing-table contacts', () => {
  it('are not dialled for being named in a lookup answer', async () => {
    const { hub, peers, newcomer } = await newcomerLooksUp(true)
    const guard = newcomer.services.contacts as ConnectedContacts
    await waitFor(() => guard.counts.skipped >= peers.length, 5_000, { what: 'the named peers passed by' })
    // kad-dht's ping of a new contact runs from a queue: give a dial the time to happen
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(connectedTo(newcomer)).toEqual([hub.peerId.toString()])
    // the addresses were still learned: a later lookup can dial any of them
    for (const peer of peers) expect(await newcomer.peerStore.has(peer.peerId)).toBe(true)
  })

  it('are dialled, all of them, without the guard (what it is for)', async () => {
    const { hub, peers, newcomer } = await newcomerLooksUp(false)
    const everyone = [hub, ...peers].map((n) => n.peerId.toString()).sort()
    await waitFor(() => connectedTo(newcomer).length === everyone.length, 10_000, {
      what: 'a dial to every named peer'
    })
    expect(connectedTo(newcomer).sort()).toEqual(everyone)
  })

  it('still enter the table when they connect', async () => {
    const guarded = await node(true)
    const peer = await node(false)
    await peer.dial(guarded.getMultiaddrs()[0])
    await waitFor(() => tableHas(guarded, peer.peerId), 10_000, { what: 'a connecting peer in the table' })
    expect((guarded.services.contacts as ConnectedContacts).counts.offered).toBeGreaterThan(0)
  })
})
