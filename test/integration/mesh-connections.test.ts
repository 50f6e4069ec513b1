import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type MemoryMesh, startMemoryMesh } from '../helpers/memory-mesh'

const TOPIC = 'meshwork-test-connections'
/** The closer looks 5 s after a second connection opens; a duplicate still busy gets more looks. */
const DEDUPE_WAIT_MS = 20_000

function census(mesh: MemoryMesh): { duplicates: number; withoutGossip: number; perNode: number } {
  let duplicates = 0
  let withoutGossip = 0
  let total = 0
  for (const peer of mesh.peers) {
    const byRemote = new Map<string, number>()
    for (const c of peer.libp2p.getConnections()) {
      total++
      byRemote.set(c.remotePeer.toString(), (byRemote.get(c.remotePeer.toString()) ?? 0) + 1)
      // gossipsub keeps one stream each way per peer: both must survive on the connection that stays
      if (c.streams.filter((s) => s.protocol?.startsWith('/meshsub/')).length < 2) withoutGossip++
    }
    for (const n of byRemote.values()) duplicates += n - 1
  }
  return { duplicates, withoutGossip, perNode: total / mesh.peers.length }
}

describe('connections of a fresh mesh (memory transport)', () => {
  let mesh: MemoryMesh
  beforeAll(async () => {
    mesh = await startMemoryMesh(10, { providers: 2, linkProbe: false })
    await mesh.waitConverged({ timeoutMs: 30_000 })
  }, 60_000)
  afterAll(async () => {
    await mesh?.stop()
  })

  it('ends with one connection per pair of peers (both ends dial each other at once), gossip intact', async () => {
    const started = performance.now()
    let seen = census(mesh)
    while (seen.duplicates > 0 && performance.now() - started < DEDUPE_WAIT_MS) {
      await new Promise((resolve) => setTimeout(resolve, 500))
      seen = census(mesh)
    }
    console.log(`after ${Math.round(performance.now() - started)} ms: ${JSON.stringify(seen)}`)
    expect(seen.duplicates, 'second connections left between the same two peers').toBe(0)
    expect(seen.withoutGossip, 'connections without gossipsub streams both ways').toBe(0)
    expect(seen.perNode).toBeLessThanOrEqual(mesh.peers.length - 1)
  }, 40_000)

  it('still carries gossip from any peer to every other', async () => {
    const [sender, ...others] = mesh.peers
    for (const peer of mesh.peers) peer.libp2p.services.pubsub.subscribe(TOPIC)
    const received = new Set<string>()
    const listeners = others.map((peer) => {
      const onMessage = (evt: CustomEvent<{ topic: string }>) => {
        if (evt.detail.topic === TOPIC) received.add(peer.peerId)
      }
      peer.libp2p.services.pubsub.addEventListener('message', onMessage as never)
      return () => peer.libp2p.services.pubsub.removeEventListener('message', onMessage as never)
    })
    // gossipsub grafts a new topic's mesh on its 1 s heartbeat; publish until everyone has it (bounded)
    for (let i = 0; i < 20 && received.size < others.length; i++) {
      await sender.libp2p.services.pubsub.publish(TOPIC, new TextEncoder().encode(`hello ${i}`))
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    for (const stop of listeners) stop()
    expect(received.size).toBe(others.length)
  }, 30_000)
})
