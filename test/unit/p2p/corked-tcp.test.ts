import { Socket } from 'node:net'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Stream } from '@libp2p/interface'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { corkedTcp } from '../../../electron/core/p2p/corked-tcp'

const SINK = '/meshwork-test/sink/1.0.0'

async function node(): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [corkedTcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ enableKeepAlive: false })]
  })
}

let sender: Libp2p
let receiver: Libp2p
let received: Promise<Uint8Array>

beforeAll(async () => {
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

afterEach(() => {
  vi.restoreAllMocks()
})

async function openSink(): Promise<Stream> {
  const stream = await sender.dialProtocol(receiver.peerId, SINK)
  await new Promise((resolve) => setTimeout(resolve, 50)) // negotiation settled
  return stream
}

/** Sends `messages` in one tick; returns how many socket writes the process made meanwhile. */
async function sendInOneTick(stream: Stream, messages: Uint8Array[]): Promise<number> {
  const writes = vi.spyOn(Socket.prototype as unknown as { _writeGeneric: () => void }, '_writeGeneric')
  for (const message of messages) if (!stream.send(message)) await stream.onDrain()
  await new Promise((resolve) => setTimeout(resolve, 50))
  const count = writes.mock.calls.length
  writes.mockRestore()
  return count
}

describe('TCP connections between nodes', () => {
  it('send the frames of one tick with one system call', async () => {
    const stream = await openSink()
    const messages = Array.from({ length: 20 }, (_, i) => new TextEncoder().encode(`message ${i}\n`))
    // written buffer by buffer (a length prefix and a ciphertext per noise frame) this counted 80
    expect(await sendInOneTick(stream, messages)).toBeLessThanOrEqual(3)
    await stream.close()
    expect(new TextDecoder().decode(await received)).toBe(messages.map((m) => new TextDecoder().decode(m)).join(''))
  })

  it('still apply backpressure and deliver everything when one tick writes megabytes', async () => {
    const stream = await openSink()
    const chunk = new Uint8Array(64 * 1024).map((_, i) => i % 251)
    const messages = Array.from({ length: 64 }, () => chunk)
    await sendInOneTick(stream, messages)
    await stream.close()
    const all = await received
    expect(all.byteLength).toBe(64 * chunk.byteLength)
    expect(all.subarray(-chunk.byteLength)).toEqual(Buffer.from(chunk))
  })
})
