import type { Libp2p } from '@libp2p/interface'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InferError } from '../../../shared/infer-error'
import { createEvents } from '../../../electron/core/events'
import { InferService } from '../../../electron/core/p2p/infer-provider'
import { encodeFrame } from '../../../electron/core/p2p/infer-frames'
import { INFER_PROTOCOL } from '../../../shared/infer'
import type { InferenceRuntime } from '../../../electron/core/runtime/types'
import { createLogger } from '../../../electron/core/util/logger'
import { stubRuntime } from '../../helpers/stub-runtime'
import { loopbackLibp2p } from './fixtures/loopback-libp2p'
import {
  type Fixtures,
  type Provider,
  type RouterNode,
  killAll,
  prepareFixtures,
  startProvider,
  startRouterNode
} from './mesh'

// Providers that lie through the real provider half of the infer protocol: one refuses every job
// with a claimed client error (401), one ignores max_tokens and streams without end.
let f: Fixtures
let honest: Provider
let node: RouterNode
let client: OpenAI
const hostile: Libp2p[] = []

function hostileRuntime(model: Fixtures['model'], stream: InferenceRuntime['stream']): InferenceRuntime {
  const served = { name: model.name, sha256: model.sha256, params: 1, contextLength: model.contextLength }
  return stubRuntime([served], stream, { kind: 'external' })
}

async function startHostile(runtime: InferenceRuntime): Promise<{ peerId: string; multiaddr: string }> {
  const libp2p = await loopbackLibp2p()
  hostile.push(libp2p)
  const service = new InferService(
    { libp2p, events: createEvents(), logger: createLogger('hostile', { level: 'error' }) },
    { runtime: () => runtime, isPaused: () => false, maxConcurrentJobs: 8, maxQueuedJobs: 8 }
  )
  await service.start()
  return { peerId: libp2p.peerId.toString(), multiaddr: libp2p.getMultiaddrs()[0].toString() }
}

beforeAll(async () => {
  f = await prepareFixtures()
  honest = await startProvider(f)
  node = await startRouterNode({ policy: 'best' })
  await node.connect(honest, f.model)
  client = new OpenAI({ baseURL: node.baseURL + '/v1', apiKey: 'unused', maxRetries: 0 })
})

afterAll(async () => {
  await node?.close()
  await Promise.all(hostile.map((n) => n.stop()))
  await killAll()
})

describe('hostile providers', () => {
  it('a provider that refuses every job with a 401 is failed over and ejected, not passed to the client', async () => {
    const refuser = await startHostile(
      // eslint-disable-next-line require-yield
      hostileRuntime(f.model, async function* () {
        throw new InferError('invalid_request', 'unauthorized', 401)
      })
    )
    // the refuser advertises itself as the fastest, so 'best' routing tries it first
    const fastest = { decodeTokensPerSecond: 1e6, prefillTokensPerSecond: 1e6, ttftMs: 1, gflops: 1 }
    await node.connect(refuser, f.model, { benchmark: { [f.model.name]: fastest } })
    const served: string[] = []
    for (let i = 0; i < 12; i++) {
      const { data, response } = await client.completions
        .create({ model: f.model.name, prompt: `job ${i}`, max_tokens: 4, temperature: 0 })
        .withResponse()
      expect(data.choices[0].text.length).toBeGreaterThan(0)
      served.push(response.headers.get('x-meshwork-provider') ?? '')
    }
    expect(served.every((p) => p === honest.peerId)).toBe(true)
    expect(node.router.records.get(refuser.peerId).failures).toBeGreaterThanOrEqual(1)
    expect(node.router.excludedReason(refuser.peerId)).toBeDefined()
    node.peers.markDead(refuser.peerId, 'test over')
  })

  // an OpenAI-compatible runtime gives text without token ids, and a chat cannot be resumed from text
  it('a chat answered whole starts over on another provider when one without token ids dies mid-way', async () => {
    const dying = await startHostile(
      hostileRuntime(f.model, async function* () {
        yield { type: 'delta', text: 'lost ' }
        yield { type: 'delta', text: 'words ' }
        throw new InferError('runtime_error', 'the runtime died', 502)
      })
    )
    const fastest = { decodeTokensPerSecond: 1e6, prefillTokensPerSecond: 1e6, ttftMs: 1, gflops: 1 }
    await node.connect(dying, f.model, { benchmark: { [f.model.name]: fastest } })
    const { data, response } = await client.chat.completions
      .create({ model: f.model.name, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, temperature: 0 })
      .withResponse()
    expect(data.choices[0].message.content?.length).toBeGreaterThan(0)
    expect(data.choices[0].message.content).not.toContain('lost')
    expect(response.headers.get('x-meshwork-provider')).toBe(honest.peerId)
    expect(node.router.records.get(dying.peerId).failures).toBe(1)
    node.peers.markDead(dying.peerId, 'test over')
  })

  it('a provider node that streams past max_tokens is cut off at max_tokens, and the stream ends', async () => {
    // not even the provider half of our protocol: a peer that answers every job with tokens without end
    const libp2p = await loopbackLibp2p()
    hostile.push(libp2p)
    await libp2p.handle(INFER_PROTOCOL, (stream) => {
      void (async () => {
        stream.send(encodeFrame({ type: 'accept', sha256: f.model.sha256, supportsTokenContinuation: true }))
        stream.send(encodeFrame({ type: 'delta', text: '', promptTokenIds: [1, 2, 3] }))
        for (let i = 0; stream.status === 'open' && i < 100_000; i++) {
          if (!stream.send(encodeFrame({ type: 'delta', text: ' a', tokenIds: [300 + (i % 20)] })))
            await stream.onDrain()
          await new Promise((r) => setImmediate(r))
        }
      })().catch(() => {})
    })
    const runaway = { peerId: libp2p.peerId.toString(), multiaddr: libp2p.getMultiaddrs()[0].toString() }
    node.peers.markDead(honest.peerId, 'only the runaway left')
    await node.connect(runaway, f.model)
    const started = Date.now()
    let deltas = 0
    let usage: { completion_tokens: number } | undefined | null
    let finish: string | null | undefined
    const stream = await client.completions.create({
      model: f.model.name,
      prompt: 'go',
      max_tokens: 16,
      stream: true,
      stream_options: { include_usage: true }
    })
    for await (const chunk of stream) {
      if (chunk.choices[0]?.text) deltas++
      if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason
      if (chunk.usage) usage = chunk.usage
    }
    expect(deltas).toBeLessThanOrEqual(16)
    expect(usage?.completion_tokens).toBe(16)
    expect(finish).toBe('length')
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(node.router.records.get(runaway.peerId).lastFailure?.code).toBe('token_limit_exceeded')
  })
})
