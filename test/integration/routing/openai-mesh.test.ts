import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import OpenAI from 'openai'
import { FrameDecoder, encodeFrame } from '../../../electron/core/p2p/infer-frames'
import { INFER_PROTOCOL, ResponseFrameSchema } from '../../../shared/infer'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../../helpers/wait'
import {
  type Fixtures,
  type Provider,
  type RouterNode,
  direct,
  killAll,
  prepareFixtures,
  startProvider,
  startRouterNode
} from './mesh'

let f: Fixtures
let providers: Provider[] = []
let node: RouterNode
let client: OpenAI

beforeAll(async () => {
  f = await prepareFixtures()
  providers = await Promise.all([startProvider(f), startProvider(f)])
  node = await startRouterNode()
  for (const p of providers) await node.connect(p, f.model)
  client = new OpenAI({ baseURL: node.baseURL + '/v1', apiKey: 'unused', maxRetries: 0 })
})

afterAll(async () => {
  await node?.close()
  await killAll()
})

const chatBody = {
  messages: [{ role: 'user' as const, content: 'Tell me about the mesh.' }],
  max_tokens: 60,
  temperature: 0
}

describe('OpenAI API through the mesh (official SDK)', () => {
  it('lists mesh models', async () => {
    const models = await client.models.list()
    expect(models.data.map((m) => m.id)).toContain(f.model.name)
  })

  it('chat, not streamed, equals the provider answer and names the provider', async () => {
    const reference = await direct(providers[0].workerUrl, '/v1/chat/completions', { model: f.model.name, ...chatBody })
    const { data, response } = await client.chat.completions.create({ model: f.model.name, ...chatBody }).withResponse()
    expect(reference.length).toBeGreaterThan(10)
    expect(data.choices[0].message.content).toBe(reference)
    expect(data.choices[0].finish_reason).toBe('length')
    expect(data.usage?.completion_tokens).toBe(60)
    const meshwork = (data as unknown as { meshwork: { providers: string[]; failovers: number } }).meshwork
    expect(meshwork.failovers).toBe(0)
    expect(providers.map((p) => p.peerId)).toContain(response.headers.get('x-meshwork-provider'))
    expect(meshwork.providers).toEqual([response.headers.get('x-meshwork-provider')])
  })

  it('chat, streamed, equals the provider answer; last chunk carries meshwork', async () => {
    const reference = await direct(providers[1].workerUrl, '/v1/chat/completions', { model: f.model.name, ...chatBody })
    const { data: stream, response } = await client.chat.completions
      .create({ model: f.model.name, ...chatBody, stream: true })
      .withResponse()
    let text = ''
    let last: unknown
    let chunks = 0
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? ''
      last = chunk
      chunks++
    }
    expect(text).toBe(reference)
    expect(chunks).toBeGreaterThan(5)
    expect(response.headers.get('content-type')).toContain('text/event-stream')
    expect((last as { meshwork: { failovers: number } }).meshwork.failovers).toBe(0)
  })

  it('completions, streamed and not, equal the provider answer (string and token-id prompts)', async () => {
    const body = { prompt: 'Once upon a time', max_tokens: 80, temperature: 0 }
    const reference = await direct(providers[0].workerUrl, '/v1/completions', { model: f.model.name, ...body })
    const finished = new Promise<{ ok: boolean; error?: string }>((resolve) =>
      node.events.once('request:finished', resolve)
    )
    const whole = await client.completions.create({ model: f.model.name, ...body })
    expect(whole.choices[0].text).toBe(reference)
    // a non-streamed answer is a success in events and metrics, not a cancelled request
    expect(await finished).toMatchObject({ ok: true })
    let text = ''
    for await (const chunk of await client.completions.create({ model: f.model.name, ...body, stream: true }))
      text += chunk.choices[0]?.text ?? ''
    expect(text).toBe(reference)
    const ids = await direct(providers[0].workerUrl, '/v1/completions', {
      model: f.model.name,
      prompt: [1, 300, 301, 302],
      max_tokens: 20,
      temperature: 0
    })
    const viaMesh = await client.completions.create({
      model: f.model.name,
      prompt: [1, 300, 301, 302],
      max_tokens: 20,
      temperature: 0
    })
    expect(viaMesh.choices[0].text).toBe(ids)
  })

  it('applies stop strings and include_usage like OpenAI', async () => {
    const body = { prompt: 'Once upon a time', max_tokens: 80, temperature: 0 }
    const reference = await direct(providers[0].workerUrl, '/v1/completions', { model: f.model.name, ...body })
    const stop = reference.slice(30, 33)
    const expected = reference.slice(0, reference.indexOf(stop))
    let text = ''
    let usage: unknown
    let finish: string | null | undefined
    for await (const chunk of await client.completions.create({
      model: f.model.name,
      ...body,
      stop: [stop],
      stream: true,
      stream_options: { include_usage: true }
    })) {
      text += chunk.choices[0]?.text ?? ''
      if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason
      if (chunk.usage) usage = chunk.usage
    }
    expect(text).toBe(expected)
    expect(finish).toBe('stop')
    expect(usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) })
  })

  it('answers bad input with OpenAI-style errors', async () => {
    const post = (path: string, body: string) =>
      fetch(node.baseURL + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    const malformed = await post('/v1/chat/completions', '{"model": "meshwork-tiny", "messages": [')
    expect(malformed.status).toBe(400)
    expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe('invalid_json')
    const wrongType = await post('/v1/chat/completions', JSON.stringify({ model: f.model.name, messages: 'hi' }))
    expect(wrongType.status).toBe(400)
    expect(((await wrongType.json()) as { error: { message: string } }).error.message).toMatch(/messages/)
    await expect(client.completions.create({ model: f.model.name, prompt: 'x', n: 2 })).rejects.toMatchObject({
      status: 400
    })
    await expect(client.chat.completions.create({ model: 'no-such-model', ...chatBody })).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found'
    })
    const huge = await post(
      '/v1/completions',
      JSON.stringify({ model: f.model.name, prompt: 'x'.repeat(5 * 1024 * 1024) })
    )
    expect(huge.status).toBe(413)
    // the worker's own 400 (prompt longer than the context) reaches the client as a 400, not a failover
    await expect(
      client.completions.create({ model: f.model.name, prompt: Array.from({ length: 5000 }, () => 300), max_tokens: 5 })
    ).rejects.toMatchObject({ status: 400 })
  })

  it('a client that disconnects mid-stream aborts the provider job', async () => {
    const finished = new Promise<{ ok: boolean; error?: string }>((resolve) =>
      node.events.once('request:finished', resolve)
    )
    const controller = new AbortController()
    const { data: stream, response } = await client.completions
      .create(
        { model: f.model.name, prompt: 'abort me', max_tokens: 3000, temperature: 0, stream: true },
        { signal: controller.signal }
      )
      .withResponse()
    const provider = providers.find((p) => p.peerId === response.headers.get('x-meshwork-provider'))!
    const servedBefore = await provider.served()
    let chunks = 0
    let abortedAt = 0
    try {
      for await (const _ of stream) {
        if (++chunks === 5) {
          abortedAt = Date.now()
          controller.abort()
        }
      }
    } catch {
      // the SDK may throw an AbortError or just end
    }
    const result = await finished
    expect(result.ok).toBe(false)
    // the provider ended the job long before its 3000 tokens (~4 s here) were generated
    await waitFor(async () => (await provider.served()) > servedBefore, 1_000, {
      intervalMs: 20,
      what: 'the provider to end the aborted job'
    })
    expect(await provider.served()).toBe(servedBefore + 1)
    expect(Date.now() - abortedAt).toBeLessThan(1000)
  })

  it('skips a provider whose advert says paused, and answers 503 with Retry-After when all are paused', async () => {
    const [paused, open] = providers
    const attempted: string[] = []
    const onAttempt = (e: { provider: string }): void => void attempted.push(e.provider)
    node.events.on('request:attempt', onAttempt)
    try {
      // the provider refuses jobs from now on, and its newer advert says so
      await paused.setPaused(true)
      node.peers.setAdvertPaused(paused.peerId, true)
      for (let i = 0; i < 4; i++) {
        const { data, response } = await client.completions
          .create({ model: f.model.name, prompt: `p${i}`, max_tokens: 3, temperature: 0 })
          .withResponse()
        expect(response.headers.get('x-meshwork-provider')).toBe(open.peerId)
        expect((data as unknown as { meshwork: { providers: string[]; failovers: number } }).meshwork).toEqual({
          providers: [open.peerId],
          failovers: 0
        })
      }
      // skipped, not tried and refused: the router never opened a job on the paused provider
      expect(attempted.length).toBeGreaterThanOrEqual(4)
      expect(attempted).not.toContain(paused.peerId)

      // every advert says paused (the providers themselves still serve): no attempt at all, a fast 503
      node.peers.setAdvertPaused(open.peerId, true)
      await paused.setPaused(false)
      attempted.length = 0
      const started = Date.now()
      const res = await fetch(node.baseURL + '/v1/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: f.model.name, prompt: 'p', max_tokens: 3 })
      })
      expect(res.status).toBe(503)
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('no_provider_available')
      expect(Date.now() - started).toBeLessThan(5000)
      expect(attempted).toEqual([])
    } finally {
      node.events.off('request:attempt', onAttempt)
      await paused.setPaused(false)
      for (const p of providers) node.peers.setAdvertPaused(p.peerId, false)
    }
  })

  it('a provider answers garbage, bad frames and a 2 GB length prefix with an error frame and keeps serving', async () => {
    const attacker = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()]
    })
    try {
      await attacker.dial(multiaddr(providers[0].multiaddr))
      const exchange = async (bytes: Uint8Array): Promise<unknown[]> => {
        const stream = await attacker.dialProtocol(peerIdFromString(providers[0].peerId), INFER_PROTOCOL)
        const decoder = new FrameDecoder(ResponseFrameSchema, 1 << 20)
        const frames: unknown[] = []
        const done = new Promise<void>((resolve) => {
          stream.addEventListener('close', () => resolve())
          stream.addEventListener('remoteCloseWrite', () => resolve())
        })
        stream.addEventListener('message', (e) =>
          frames.push(...decoder.push(e.data instanceof Uint8Array ? e.data : e.data.subarray()))
        )
        stream.send(bytes)
        await Promise.race([done, new Promise((r) => setTimeout(r, 5000))])
        stream.abort(new Error('done'))
        return frames
      }
      const twoGb = await exchange(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x08, 1, 2, 3]))
      expect(twoGb).toEqual([
        expect.objectContaining({
          type: 'error',
          code: 'bad_frame',
          message: expect.stringMatching(/exceeds the limit/)
        })
      ])
      const notJson = await exchange(new Uint8Array([5, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b]))
      expect(notJson).toEqual([expect.objectContaining({ type: 'error', code: 'bad_frame', status: 400 })])
      const wrongShape = await exchange(
        encodeFrame({ type: 'request', id: 'x', call: { api: 'chat', body: { model: f.model.name, messages: 'no' } } })
      )
      expect(wrongShape).toEqual([
        expect.objectContaining({ type: 'error', code: 'bad_frame', message: expect.stringMatching(/messages/) })
      ])
      const good = await exchange(
        encodeFrame({
          type: 'request',
          id: 'ok',
          call: { api: 'completions', body: { model: f.model.name, prompt: 'hi', max_tokens: 3, temperature: 0 } }
        })
      )
      expect(good.at(-1)).toMatchObject({ type: 'final', sha256: f.model.sha256 })
      expect(providers[0].proc.exitCode).toBeNull()
    } finally {
      await attacker.stop()
    }
  })

  it('exports metrics', async () => {
    const text = await (await fetch(node.baseURL + '/metrics')).text()
    expect(text).toMatch(/meshwork_requests_total\{model="meshwork-tiny",outcome="ok"\} \d+/)
    expect(text).toMatch(/meshwork_request_errors_total\{code="model_not_found"\} 1/)
    expect(text).toContain('meshwork_ttft_seconds_bucket')
  })
})
