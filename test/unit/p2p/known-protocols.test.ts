import type { PeerId, Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { knownProtocols } from '../../../electron/core/p2p/known-protocols'
import { startTcpTestNode } from '../../helpers/tcp-test-node'

const ECHO = '/meshwork-test/echo/1.0.0'
const STREAMS = 20
let nodes: Libp2p<any>[] = []

afterEach(async () => {
  await Promise.all(nodes.map((node) => node.stop()))
  nodes = []
})

async function node(withGuard: boolean): Promise<Libp2p<any>> {
  const services: Record<string, (components: any) => unknown> = withGuard ? { knownProtocols: knownProtocols() } : {}
  const started = await startTcpTestNode<any>({ services })
  await started.handle(ECHO, async (stream: Stream) => {
    for await (const chunk of stream) stream.send(chunk)
    await stream.close()
  })
  nodes.push(started)
  return started
}

/** Counts the merges about `peer` that reach the store itself (below any wrapper of the peer store's API). */
function storeMerges(node: Libp2p<any>, peer: PeerId): { count: number } {
  const store = (node.peerStore as any).store
  const merge = store.merge.bind(store)
  const counter = { count: 0 }
  store.merge = (id: PeerId, ...rest: unknown[]) => {
    if (id.equals(peer)) counter.count++
    return merge(id, ...rest)
  }
  return counter
}

async function echoOnce(from: Libp2p<any>, to: Libp2p<any>): Promise<void> {
  const stream = await from.dialProtocol(to.peerId, ECHO)
  stream.send(new Uint8Array([1]))
  await stream.close()
  for await (const _ of stream);
}

async function connectedPair(withGuard: boolean) {
  const dialler = await node(withGuard)
  const listener = await node(withGuard)
  await dialler.dial(listener.getMultiaddrs()[0])
  await echoOnce(dialler, listener) // the first stream of the protocol records it
  return { dialler, listener }
}

describe('known protocols', () => {
  it("answers a stream's protocol merge from the record it remembers, at both ends", async () => {
    const { dialler, listener } = await connectedPair(true)
    const outbound = storeMerges(dialler, listener.peerId)
    const inbound = storeMerges(listener, dialler.peerId)
    for (let i = 0; i < STREAMS; i++) await echoOnce(dialler, listener)
    expect(outbound.count).toBe(0)
    expect(inbound.count).toBe(0)
    expect((await dialler.peerStore.get(listener.peerId)).protocols).toContain(ECHO)
  })

  it('without it, every stream goes to the store at both ends (what the guard saves)', async () => {
    const { dialler, listener } = await connectedPair(false)
    const outbound = storeMerges(dialler, listener.peerId)
    const inbound = storeMerges(listener, dialler.peerId)
    for (let i = 0; i < STREAMS; i++) await echoOnce(dialler, listener)
    expect(outbound.count).toBeGreaterThanOrEqual(STREAMS)
    expect(inbound.count).toBeGreaterThanOrEqual(STREAMS)
  })

  it('records the protocol again once the record lost it: deleted, or patched without it', async () => {
    const { dialler, listener } = await connectedPair(true)
    await dialler.peerStore.delete(listener.peerId)
    await echoOnce(dialler, listener)
    expect((await dialler.peerStore.get(listener.peerId)).protocols).toContain(ECHO)
    await dialler.peerStore.patch(listener.peerId, { protocols: [] })
    await echoOnce(dialler, listener)
    expect((await dialler.peerStore.get(listener.peerId)).protocols).toContain(ECHO)
  })

  it('passes merges that bring anything else, or a protocol the record lacks', async () => {
    const { dialler, listener } = await connectedPair(true)
    const merges = storeMerges(dialler, listener.peerId)
    await dialler.peerStore.merge(listener.peerId, { protocols: [ECHO], metadata: { note: new Uint8Array([1]) } })
    await dialler.peerStore.merge(listener.peerId, { protocols: ['/meshwork-test/other/1.0.0'] })
    expect(merges.count).toBe(2)
    const record = await dialler.peerStore.get(listener.peerId)
    expect(record.protocols).toEqual(expect.arrayContaining([ECHO, '/meshwork-test/other/1.0.0']))
    expect(record.metadata.get('note')).toEqual(new Uint8Array([1]))
  })
})
