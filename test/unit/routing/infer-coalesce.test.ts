import type { Libp2p, Stream } from '@libp2p/interface'
import { createServer, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEvents } from '../../../electron/core/events'
import { coalesceWaiting, joinable } from '../../../electron/core/p2p/infer-coalesce'
import { openInfer } from '../../../electron/core/p2p/infer-consumer'
import { encodeFrame, FrameDecoder } from '../../../electron/core/p2p/infer-frames'
import { InferService } from '../../../electron/core/p2p/infer-provider'
import { FrameReader } from '../../../electron/core/p2p/infer-reader'
import { FrameBatch } from '../../../electron/core/p2p/infer-send'
import { streamCompletion } from '../../../electron/core/runtime/client/runtime-client'
import type { InferenceRuntime } from '../../../electron/core/runtime/types'
import { createLogger } from '../../../electron/core/util/logger'
import {
  type DeltaFrame,
  INFER_PROTOCOL,
  MAX_RESPONSE_FRAME_BYTES,
  type RequestFrame,
  type ResponseFrame,
  ResponseFrameSchema
} from '../../../shared/infer'
import { loopbackLibp2p } from '../../integration/routing/fixtures/loopback-libp2p'

const SHA = 'd'.repeat(64)
const N = 40
const words = Array.from({ length: N }, (_, i) => ` w${i}`)
const ids = Array.from({ length: N }, (_, i) => 1000 + i)
const request: RequestFrame = {
  type: 'request',
  id: 'cmpl-coalesce',
  call: { api: 'completions', body: { model: 'meshwork-tiny', prompt: 'x', max_tokens: N } }
}

let provider: Libp2p
let consumer: Libp2p
beforeAll(async () => {
  ;[provider, consumer] = await Promise.all([loopbackLibp2p(), loopbackLibp2p()])
  await consumer.dial(provider.getMultiaddrs()[0])
})
afterAll(async () => {
  await Promise.all([provider.stop(), consumer.stop()])
})

describe('coalescing deltas that are already waiting', () => {
  it("the router joins an old provider's single-token frames that arrived together: same text, same ids, fewer frames", async () => {
    // an old provider: one frame per token; all of them reach the router in one read
    await provider.handle(INFER_PROTOCOL, (stream) => {
      stream.addEventListener(
        'message',
        () => {
          const frames: ResponseFrame[] = [
            { type: 'accept', sha256: SHA, supportsTokenContinuation: true },
            { type: 'delta', text: words[0], tokenIds: [ids[0]], promptTokenIds: [7, 8, 9] },
            ...words.slice(1).map((text, i): DeltaFrame => ({ type: 'delta', text, tokenIds: [ids[i + 1]] })),
            { type: 'final', finishReason: 'length' }
          ]
          stream.send(Buffer.concat(frames.map((f) => encodeFrame(f))))
          void stream.close()
        },
        { once: true }
      )
    })
    try {
      const deltas: DeltaFrame[] = []
      let final = false
      for await (const frame of openInfer(consumer, provider.peerId, request)) {
        if (frame.type === 'delta') deltas.push(frame)
        if (frame.type === 'final') final = true
      }
      expect(final).toBe(true)
      expect(deltas.length).toBeLessThan(N)
      expect(deltas.map((d) => d.text).join('')).toBe(words.join(''))
      expect(deltas.flatMap((d) => d.tokenIds ?? [])).toEqual(ids)
      expect(deltas[0].promptTokenIds).toEqual([7, 8, 9])
    } finally {
      await provider.unhandle(INFER_PROTOCOL)
    }
  })

  it('never joins what the consumer counts apart: deltas without ids, or a delta with first-delta fields', () => {
    const a: DeltaFrame = { type: 'delta', text: 'a', tokenIds: [1] }
    expect(joinable(a, { type: 'delta', text: 'b' })).toBe(false)
    expect(joinable({ type: 'delta', text: 'a' }, { type: 'delta', text: 'b' })).toBe(false)
    expect(joinable(a, { type: 'delta', text: 'b', tokenIds: [2], promptTokenIds: [1] })).toBe(false)
    expect(joinable(a, { type: 'delta', text: 'b', tokenIds: [2], stop: ['</s>'] })).toBe(false)
    const waiting: DeltaFrame[] = [
      { type: 'delta', text: 'b', tokenIds: [2, 3] },
      { type: 'delta', text: 'c' }
    ]
    const joined = coalesceWaiting(a, (into) =>
      waiting[0] && joinable(into, waiting[0]) ? waiting.shift() : undefined
    )
    expect(joined).toEqual({ type: 'delta', text: 'ab', tokenIds: [1, 2, 3] })
    expect(waiting).toEqual([{ type: 'delta', text: 'c' }])
  })

  it('a provider fed N deltas the runtime had already sent sends them as fewer frames, token-exact', async () => {
    let server: Server | undefined
    try {
      // the worker wrote every token before the provider read any (a provider that fell behind)
      server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        const events = words.map((text, i) => ({
          choices: [{ text, token_ids: [ids[i]], finish_reason: i === N - 1 ? 'length' : null }],
          ...(i === 0 ? { prompt_token_ids: [7, 8, 9] } : {})
        }))
        res.end(events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n')
      })
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
      const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`
      const runtime = {
        endpoint: () => endpoint,
        models: () => [{ name: 'meshwork-tiny', sha256: SHA, params: 1 }],
        supportsTokenContinuation: true,
        stream: (call: RequestFrame['call']) => streamCompletion(endpoint, call)
      } as unknown as InferenceRuntime
      const service = new InferService(
        { libp2p: provider, events: createEvents(), logger: createLogger('test', { level: 'error' }) },
        { runtime: () => runtime, isPaused: () => false, maxConcurrentJobs: 1, maxQueuedJobs: 1 }
      )
      await service.start()
      try {
        // read the raw frames the provider sent (openInfer would join them again)
        const stream = await consumer.dialProtocol(provider.peerId, INFER_PROTOCOL)
        const reader = new FrameReader(stream, ResponseFrameSchema, MAX_RESPONSE_FRAME_BYTES)
        stream.send(encodeFrame(request))
        const frames: ResponseFrame[] = []
        for (let f = await reader.next(); f !== undefined; f = await reader.next()) frames.push(f)
        reader.dispose()
        const deltas = frames.filter((f): f is DeltaFrame => f.type === 'delta')
        expect(frames.at(-1)?.type).toBe('final')
        expect(deltas.length).toBeLessThan(N)
        expect(deltas.map((d) => d.text).join('')).toBe(words.join(''))
        expect(deltas.flatMap((d) => d.tokenIds ?? [])).toEqual(ids)
      } finally {
        await service.stop()
      }
    } finally {
      server?.close()
    }
  })

  it('frames made in one turn leave in one write, in order; a full stream makes the next write wait', async () => {
    const sent: Uint8Array[] = []
    let room = true
    let drained = (): void => {}
    const stream = {
      send: (bytes: Uint8Array) => (sent.push(bytes), room),
      onDrain: () => new Promise<void>((resolve) => (drained = resolve))
    } as unknown as Stream
    const batch = new FrameBatch(stream)
    const frames: ResponseFrame[] = [
      { type: 'accept', sha256: SHA, supportsTokenContinuation: true },
      { type: 'delta', text: 'a', tokenIds: [1] },
      { type: 'final', finishReason: 'stop' }
    ]
    for (const frame of frames) await batch.write(frame)
    expect(sent).toHaveLength(0) // nothing waits for more, but what this turn makes goes together
    await new Promise((resolve) => setImmediate(resolve))
    expect(sent).toHaveLength(1)
    expect(new FrameDecoder(ResponseFrameSchema, 1 << 20).push(sent[0])).toEqual(frames)
    room = false
    await batch.write({ type: 'delta', text: 'b', tokenIds: [2] })
    await new Promise((resolve) => setImmediate(resolve))
    let waited = true
    const next = batch.write({ type: 'delta', text: 'c', tokenIds: [3] }).then(() => (waited = false))
    await new Promise((resolve) => setImmediate(resolve))
    expect(waited).toBe(true)
    drained()
    await next
    batch.end()
    expect(sent).toHaveLength(3)
  })

  it('with a gap, a fast stream leaves as one write per gap; the first delta and the final frame never wait', async () => {
    const sent: Uint8Array[] = []
    const stream = { send: (bytes: Uint8Array) => (sent.push(bytes), true) } as unknown as Stream
    const batch = new FrameBatch(stream, { minGapMs: 250 })
    const turn = () => new Promise((resolve) => setImmediate(resolve))
    const delta = (i: number): DeltaFrame => ({ type: 'delta', text: `t${i}`, tokenIds: [i] })
    const decode = (bytes: Uint8Array) => new FrameDecoder(ResponseFrameSchema, 1 << 20).push(bytes)
    await batch.write({ type: 'accept', sha256: SHA, supportsTokenContinuation: true })
    await batch.write(delta(1))
    await turn()
    expect(sent).toHaveLength(1) // the first token at once
    await batch.write(delta(2))
    await turn()
    await batch.write(delta(3))
    await turn()
    expect(sent).toHaveLength(1) // held: the last write was less than a gap ago
    await new Promise((resolve) => setTimeout(resolve, 350))
    expect(sent).toHaveLength(2)
    expect(decode(sent[1])).toEqual([delta(2), delta(3)])
    await batch.write(delta(4))
    await batch.write({ type: 'final', finishReason: 'stop' })
    await turn()
    expect(sent).toHaveLength(3) // the end of the answer does not wait out the gap
    expect(decode(sent[2])).toEqual([delta(4), { type: 'final', finishReason: 'stop' }])
    await new Promise((resolve) => setTimeout(resolve, 350))
    await batch.write(delta(5))
    await turn()
    expect(sent).toHaveLength(4) // after a pause, at once
  })
})
