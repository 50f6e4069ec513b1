import { afterEach, describe, expect, it } from 'vitest'
import { ConnectionPinger } from '../../../electron/core/p2p/connection-pinger'
import { type MemoryMesh, startMemoryMesh } from '../../helpers/memory-mesh'

let mesh: MemoryMesh | undefined

afterEach(async () => {
  await mesh?.stop()
  mesh = undefined
})

/** The yamux session under a libp2p connection: its RTT is -1 until a yamux ping has gone both ways. */
function yamuxRtt(connection: unknown): number {
  const muxer = (connection as { muxer?: { rtt?: number } }).muxer
  if (typeof muxer?.rtt !== 'number') throw new Error('this connection has no yamux session to inspect')
  return muxer.rtt
}

describe('connections between nodes', () => {
  // yamux's keep-alive pings both ways on every connection (at once, then every 30 s) and closes
  // nothing when a ping fails: per-connection chatter that libp2p's connection monitor already covers
  it('carry no yamux keep-alive pings', async () => {
    mesh = await startMemoryMesh(2, { providers: 1, linkProbe: false })
    await mesh.waitConverged({ timeoutMs: 20_000 })
    await new Promise((resolve) => setTimeout(resolve, 500))
    const connections = mesh.peers.flatMap((peer) => peer.libp2p.getConnections())
    expect(connections.length).toBeGreaterThan(0)
    for (const connection of connections) expect(yamuxRtt(connection)).toBe(-1)
  })

  // libp2p's own monitor pings from both ends; the pinger from the dialling end only
  it("are pinged by the pinger, not by libp2p's connection monitor", async () => {
    mesh = await startMemoryMesh(2, { providers: 1, linkProbe: false })
    for (const peer of mesh.peers) {
      expect(peer.libp2p.services.pinger).toBeInstanceOf(ConnectionPinger)
      const components = (peer.libp2p as unknown as { components: Record<string, unknown> }).components
      expect(() => components.connectionMonitor).toThrow(/connectionMonitor not set/)
    }
  })
})
