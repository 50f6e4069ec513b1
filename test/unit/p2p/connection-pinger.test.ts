import type { Stream } from '@libp2p/interface'
import { byteStream } from '@libp2p/utils'
import type { Libp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { connectionPinger, type ConnectionPinger, PING_PROTOCOL } from '../../../electron/core/p2p/connection-pinger'
import { startTcpTestNode } from '../../helpers/tcp-test-node'
import { waitFor } from '../../helpers/wait'

const INTERVAL_MS = 100
const CHATTER_PROTOCOL = '/meshwork-test/chatter/1.0.0'
type PingerNode = Libp2p<{ pinger: ConnectionPinger }>

let nodes: PingerNode[] = []

afterEach(async () => {
  await Promise.all(nodes.map((node) => node.stop()))
  nodes = []
})

/** A node with the pinger and, in place of libp2p's ping service, a handler that counts what it gets. */
async function pingerNode(answer: 'echo' | 'silent' | 'none' = 'echo') {
  const node: PingerNode = await startTcpTestNode({
    services: { pinger: connectionPinger({ intervalMs: INTERVAL_MS, timeout: { minTimeout: 300, maxTimeout: 300 } }) }
  })
  nodes.push(node)
  const received = { pings: 0 }
  if (answer !== 'none')
    await node.handle(PING_PROTOCOL, async (stream: Stream) => {
      received.pings++
      if (answer === 'silent') return // reads nothing, answers nothing: a peer frozen mid-connection
      const bytes = byteStream(stream)
      await bytes.write(await bytes.read({ bytes: 32 }))
      await stream.close()
    })
  return { node, received }
}

describe('the connection pinger', () => {
  // libp2p's monitor pings every connection from both ends; one end's ping tells both that it lives
  it('pings a connection from the end that dialled it only', async () => {
    const dialler = await pingerNode()
    const listener = await pingerNode()
    await dialler.node.dial(listener.node.getMultiaddrs()[0])
    await waitFor(() => listener.received.pings >= 5, 5_000)
    expect(dialler.received.pings).toBe(0)
    expect(listener.node.services.pinger.sent).toBe(0)
    const [connection] = dialler.node.getConnections()
    expect(connection.status).toBe('open')
    expect(connection.rtt).toBeGreaterThanOrEqual(0)
  })

  it('aborts a connection whose ping goes unanswered', async () => {
    const dialler = await pingerNode()
    const frozen = await pingerNode('silent')
    await dialler.node.dial(frozen.node.getMultiaddrs()[0])
    await waitFor(() => frozen.received.pings >= 1, 5_000)
    await waitFor(() => dialler.node.getConnections().length === 0, 5_000)
  })

  it('does not ping a connection that received data since its last check, and pings it once it falls silent', async () => {
    const dialler = await pingerNode()
    const listener = await pingerNode()
    await dialler.node.handle(CHATTER_PROTOCOL, async (stream: Stream) => {
      for await (const _ of stream); // reads what the peer sends, answers nothing
    })
    await dialler.node.dial(listener.node.getMultiaddrs()[0])
    // the peer sends a few bytes every 20 ms over the connection the dialler opened
    await waitFor(() => listener.node.getConnections().length === 1, 5_000)
    const stream = await listener.node.getConnections()[0].newStream(CHATTER_PROTOCOL)
    const bytes = byteStream(stream)
    const pinger = dialler.node.services.pinger
    const sentBefore = pinger.sent
    for (let i = 0; i < 50; i++) {
      await bytes.write(new Uint8Array(16))
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    // ten rounds went by while the peer talked: at most the one under way when it began was sent
    expect(pinger.sent - sentBefore).toBeLessThanOrEqual(1)
    expect(pinger.skipped).toBeGreaterThanOrEqual(5)
    const pingsBefore = listener.received.pings
    await waitFor(() => listener.received.pings >= pingsBefore + 3, 5_000)
    await stream.close()
  })

  it('keeps a connection to a peer that does not speak ping: it answered the negotiation', async () => {
    const dialler = await pingerNode()
    const other = await pingerNode('none')
    await dialler.node.dial(other.node.getMultiaddrs()[0])
    await waitFor(() => dialler.node.services.pinger.sent >= 4, 5_000)
    expect(dialler.node.getConnections()).toHaveLength(1)
  })
})
