import { YamuxStream } from '@chainsafe/libp2p-yamux/stream'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { batchYamuxWindowUpdates } from '../../../electron/core/p2p/yamux-window'
import { type SinkPair, startSinkPair } from '../../helpers/sink-pair'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
let pair: SinkPair

beforeAll(async () => {
  batchYamuxWindowUpdates()
  pair = await startSinkPair()
})

afterAll(async () => {
  await pair?.stop()
})

describe('yamux flow control between nodes', () => {
  it('does not answer every small frame of a stream with a window update', async () => {
    const stream = await pair.open()
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
    expect(await pair.receivedText()).toBe(messages.map((m) => new TextDecoder().decode(m)).join(''))
  })

  it('still keeps a bulk transfer flowing through many windows', async () => {
    const stream = await pair.open()
    const chunk = new Uint8Array(64 * 1024).map((_, i) => i % 251)
    for (let i = 0; i < 64; i++) if (!stream.send(chunk)) await stream.onDrain({ signal: AbortSignal.timeout(10_000) })
    await stream.close()
    const all = await pair.received()
    expect(all.byteLength).toBe(64 * chunk.byteLength)
    expect(all.subarray(-chunk.byteLength)).toEqual(Buffer.from(chunk))
  })
})
