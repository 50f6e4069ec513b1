import { identify } from '@libp2p/identify'
import type { StreamHandler, StreamHandlerOptions } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { identifyRetry } from '../../../electron/core/p2p/identify-retry'
import { startTcpTestNode } from '../../helpers/tcp-test-node'
import { waitFor } from '../../helpers/wait'

const IDENTIFY = '/ipfs/id/1.0.0'
let nodes: Libp2p[] = []

afterEach(async () => {
  await Promise.all(nodes.map((node) => node.stop()))
  nodes = []
})

async function node(withRetry: boolean) {
  const created: Libp2p = await startTcpTestNode({
    services: {
      identify: identify({ timeout: 300 }),
      ...(withRetry
        ? { identifyRetry: identifyRetry({ checkAfterMs: 400, retryTimeoutMs: 1_000, maxRetries: 2 }) }
        : {})
    }
  })
  nodes.push(created)
  return created
}

/** Takes the node's identify handler away, as a peer too busy to answer it in time would; returns it. */
async function withholdIdentify(peer: Libp2p): Promise<{ handler: StreamHandler; options: StreamHandlerOptions }> {
  const registrar = (peer as unknown as { components: { registrar: { getHandler(p: string): unknown } } }).components
    .registrar
  const handler = registrar.getHandler(IDENTIFY) as { handler: StreamHandler; options: StreamHandlerOptions }
  await peer.unhandle(IDENTIFY)
  return handler
}

/** Dials `listener` while its identify is withheld; resolves whether the dialler ever identifies it. */
async function identifiedAfterFailure(withRetry: boolean, restoreAfterMs: number | undefined) {
  const dialler = await node(withRetry)
  const listener = await node(false)
  const withheld = await withholdIdentify(listener)
  let identified = false
  dialler.addEventListener('peer:identify', (evt) => {
    if (evt.detail.peerId.equals(listener.peerId)) identified = true
  })
  await dialler.dial(listener.getMultiaddrs()[0])
  if (restoreAfterMs !== undefined) {
    await new Promise((resolve) => setTimeout(resolve, restoreAfterMs))
    await listener.handle(IDENTIFY, withheld.handler, withheld.options)
  }
  return { dialler, identified: () => identified }
}

describe('a connection whose identify failed', () => {
  // libp2p identifies once per connection and swallows a failure: without a retry the peer's
  // protocols stay unknown, and kad-dht, gossipsub and discovery never use the connection
  it('is identified again', async () => {
    const { dialler, identified } = await identifiedAfterFailure(true, 200)
    await waitFor(identified, 5_000, { what: 'the dialler to identify the listener' })
    const peer = await dialler.peerStore.get(dialler.getConnections()[0].remotePeer)
    expect(peer.protocols).toContain(IDENTIFY)
  })

  it('stays unidentified without the retry (what the retry fixes)', async () => {
    const { identified } = await identifiedAfterFailure(false, 200)
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(identified()).toBe(false)
  })

  it('is closed when it never identifies', async () => {
    const { dialler } = await identifiedAfterFailure(true, undefined)
    await waitFor(() => dialler.getConnections().length === 0, 5_000, { what: 'the connection to close' })
    const service = (dialler.services as { identifyRetry: { counts: { retried: number; closed: number } } })
      .identifyRetry
    expect(service.counts).toEqual({ retried: 2, closed: 1 })
  })
})
