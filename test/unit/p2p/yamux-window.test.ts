import { yamux } from '@chainsafe/libp2p-yamux'
import { YamuxStream } from '@chainsafe/libp2p-yamux/stream'
import type { Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { meshNoise } from '../../../electron/core/p2p/noise-frames'
import { batchYamuxWindowUpdates } from '../../../electron/core/p2p/yamux-window'

const SINK = '/meshwork-test/sink/1.0.0'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function node(): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [meshNoise()],
    streamMuxers: [yamux({ enableKeepAlive: false })]
  })
}

let sender: Libp2p
let receiver: Libp2p
let received: Promise<Uint8Array>

beforeAll(async () => {
  batchYamuxWindowUpdates()
  ;[sender, receiver] = await Promise.all([node(), node()])
  await receiver.handle(SINK, (stream: Stream) => {
    received = (async () => {
      const parts: Uint8Array[] = []
      for await (const piece of stream) parts.push(piece instanceof Uint8Array ? piece : piece.subarray())
      await stream.close()
      return Buffer.concat(parts)
    })()
  })
  await sender.dial(receiver.getMultiaddrs()[0])
})

afterAll(async () => {
  await Promise.all([sender, receiver].map((n) => n?.stop()))
})

describe('yamux flow control between nodes', () => {
  it('does not answer every small frame of a stream with a window update', async () => {
    const stream = await sender.dialProtocol(receiver.peerId, SINK)
    await sleep(50)
    const updates = vi.spyOn(YamuxStream.prototype, 'handleWindowUpdate')
    const messages = Array.from({ length: 100 }, (_, i) => new TextEncoder().encode(`token ${i} `))
    for (const message of messages) {
      stream.send(message)
      await sleep(1) // one frame each, as a token stream sends them
    }
    await sleep(50)
    const count = updates.mock.calls.length
    updates.mockRestore()
    // one window update per frame (100) without the batching
    expect(count).toBeLessThan(5)
    await stream.close()
    expect(new TextDecoder().decode(await received)).toBe(messages.map((m) => new TextDecoder().decode(m)).join(''))
  })

  it('still keeps a bulk transfer flowing through many windows', async () => {
    const stream = await sender.dialProtocol(receiver.peerId, SINK)
    const chunk = new Uint8Array(64 * 1024).map((_, i) => i % 251)
    for (let i = 0; i < 64; i++) if (!stream.send(chunk)) await stream.onDrain({ signal: AbortSignal.timeout(10_000) })
    await stream.close()
    const all = await received
    expect(all.byteLength).toBe(64 * chunk.byteLength)
    expect(all.subarray(-chunk.byteLength)).toEqual(Buffer.from(chunk))
  })
})
