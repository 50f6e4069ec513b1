import type { Libp2p, Stream } from '@libp2p/interface'
import { afterEach, describe, expect, it } from 'vitest'
import type { DeltaFrame, RequestFrame } from '../../../shared/infer'
import { INFER_PROTOCOL, ResponseFrameSchema } from '../../../shared/infer'
import { createEvents } from '../../../electron/core/events'
import { FrameDecoder, encodeFrame } from '../../../electron/core/p2p/infer-frames'
import { InferService } from '../../../electron/core/p2p/infer-provider'
import type { ProviderLimits } from '../../../electron/core/p2p/provider-limits'
import type { InferenceRuntime } from '../../../electron/core/runtime/types'
import { createLogger } from '../../../electron/core/util/logger'
import { loopbackLibp2p } from '../../integration/routing/fixtures/loopback-libp2p'
import { stubRuntime } from '../../helpers/stub-runtime'
import { waitFor } from '../../helpers/wait'

const SHA = 'c'.repeat(64)
const nodes: Libp2p[] = []
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()))
})

/** A runtime that streams 16 KiB deltas until it is stopped: a consumer must read to keep up. */
function endlessRuntime(): InferenceRuntime {
  return stubRuntime([{ name: 'm', sha256: SHA, params: 1 }], async function* (_call, options) {
    const text = 'x'.repeat(16 * 1024)
    for (let i = 0; !options?.signal?.aborted; i++) {
      yield { type: 'delta', text, tokenIds: [i] } satisfies DeltaFrame
      await new Promise((r) => setImmediate(r))
    }
  })
}

async function provider(limits: Partial<ProviderLimits>, slots = { jobs: 1, queued: 4 }) {
  const libp2p = await loopbackLibp2p()
  nodes.push(libp2p)
  const service = new InferService(
    { libp2p, events: createEvents(), logger: createLogger('test', { level: 'error' }) },
    {
      runtime: endlessRuntime,
      isPaused: () => false,
      maxConcurrentJobs: slots.jobs,
      maxQueuedJobs: slots.queued,
      limits
    }
  )
  await service.start()
  return { libp2p, service }
}

async function consumer(target: Libp2p): Promise<Libp2p> {
  const libp2p = await loopbackLibp2p()
  nodes.push(libp2p)
  await libp2p.dial(target.getMultiaddrs()[0])
  return libp2p
}

const request = (id: string, maxTokens = 1_000_000): RequestFrame => ({
  type: 'request',
  id,
  call: { api: 'completions', body: { model: 'm', prompt: 'hi', max_tokens: maxTokens } }
})

/** Opens a stream, sends a request, and collects what comes back as text (without parsing). */
async function job(
  from: Libp2p,
  to: Libp2p,
  id: string,
  read = true
): Promise<{ stream: Stream; received: () => string }> {
  const stream = await from.dialProtocol(to.peerId, INFER_PROTOCOL)
  let text = ''
  if (read) stream.addEventListener('message', (e) => (text += new TextDecoder().decode(e.data.subarray())))
  else stream.pause()
  stream.send(encodeFrame(request(id)))
  return { stream, received: () => text }
}

describe('provider limits', () => {
  it('drops the job of a consumer that stops reading, so it cannot hold a slot', async () => {
    const { libp2p, service } = await provider({ drainTimeoutMs: 300 })
    const c = await consumer(libp2p)
    await job(c, libp2p, 'stuck', false)
    await waitFor(() => service.load().inflight === 1, 5_000)
    const started = Date.now()
    await service.idle({ signal: AbortSignal.timeout(10_000) })
    expect(Date.now() - started).toBeLessThan(8_000)
  })

  it('one consumer may not take every queue place: another still gets in line', async () => {
    const { libp2p, service } = await provider({}, { jobs: 1, queued: 4 })
    const greedy = await consumer(libp2p)
    const jobs = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => job(greedy, libp2p, id)))
    await waitFor(() => jobs.filter((j) => j.received().includes('provider_busy')).length === 2, 5_000)
    expect(service.load().inflight + service.load().queued).toBe(3)
    const other = await consumer(libp2p)
    const fair = await job(other, libp2p, 'f')
    await waitFor(() => service.load().queued === 3, 5_000)
    expect(fair.received()).not.toContain('provider_busy')
    for (const j of [...jobs, fair]) j.stream.abort(new Error('done'))
  })

  it('caps the infer streams one peer may hold open', async () => {
    const { libp2p } = await provider({ maxStreamsPerPeer: 3 })
    const c = await consumer(libp2p)
    const streams = await Promise.all(Array.from({ length: 6 }, () => c.dialProtocol(libp2p.peerId, INFER_PROTOCOL)))
    await waitFor(() => streams.filter((s) => s.status !== 'open').length === 3, 5_000)
    for (const s of streams) s.abort(new Error('done'))
  })

  it('bounds the request bytes buffered across all streams', async () => {
    const { libp2p } = await provider({ maxBufferedRequestBytes: 256 * 1024 })
    const c = await consumer(libp2p)
    // two frames that announce 1 MiB each and deliver 200 KiB: the second breaks the shared budget
    const partial = encodeFrame({ type: 'request', id: 'x', pad: 'p'.repeat(1024 * 1024) }).subarray(0, 200 * 1024)
    const first = await c.dialProtocol(libp2p.peerId, INFER_PROTOCOL)
    first.send(partial)
    await new Promise((r) => setTimeout(r, 200))
    const second = await c.dialProtocol(libp2p.peerId, INFER_PROTOCOL)
    let answer = ''
    second.addEventListener('message', (e) => (answer += new TextDecoder().decode(e.data.subarray())))
    second.send(partial)
    await waitFor(() => answer.includes('"type":"error"') || second.status !== 'open', 5_000)
    expect(first.status).toBe('open')
    first.abort(new Error('done'))
  })

  it('stops a runtime that ignores max_tokens where the request ends, with a final frame', async () => {
    const { libp2p } = await provider({})
    const c = await consumer(libp2p)
    const stream = await c.dialProtocol(libp2p.peerId, INFER_PROTOCOL)
    const decoder = new FrameDecoder(ResponseFrameSchema, 1 << 22)
    const frames: Array<{ type: string; finishReason?: string | null }> = []
    stream.addEventListener('message', (e) => frames.push(...decoder.push(e.data.subarray())))
    stream.send(encodeFrame(request('bounded', 5)))
    await waitFor(() => frames.some((f) => f.type === 'final'), 5_000)
    expect(frames.filter((f) => f.type === 'delta')).toHaveLength(5)
    expect(frames.at(-1)).toMatchObject({ type: 'final', finishReason: 'length' })
  })
})
