import { Socket } from 'node:net'
import type { Stream } from '@libp2p/interface'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { corkedTcp } from '../../../electron/core/p2p/corked-tcp'
import { type SinkPair, startSinkPair } from '../../helpers/sink-pair'

let pair: SinkPair

beforeAll(async () => {
  pair = await startSinkPair({ transport: corkedTcp })
})

afterAll(async () => {
  await pair?.stop()
})

afterEach(() => {
  vi.restoreAllMocks()
})

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
    const stream = await pair.open()
    const messages = Array.from({ length: 20 }, (_, i) => new TextEncoder().encode(`message ${i}\n`))
    // written buffer by buffer (a length prefix and a ciphertext per noise frame) this counted 80
    expect(await sendInOneTick(stream, messages)).toBeLessThanOrEqual(3)
    await stream.close()
    expect(await pair.receivedText()).toBe(messages.map((m) => new TextDecoder().decode(m)).join(''))
  })

  it('still apply backpressure and deliver everything when one tick writes megabytes', async () => {
    const stream = await pair.open()
    const chunk = new Uint8Array(64 * 1024).map((_, i) => i % 251)
    const messages = Array.from({ length: 64 }, () => chunk)
    await sendInOneTick(stream, messages)
    await stream.close()
    const all = await pair.received()
    expect(all.byteLength).toBe(64 * chunk.byteLength)
    expect(all.subarray(-chunk.byteLength)).toEqual(Buffer.from(chunk))
  })
})
