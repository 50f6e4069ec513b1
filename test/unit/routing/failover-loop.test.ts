import { describe, expect, it } from 'vitest'
import type { Advert } from '../../../shared/advert'
import type { DeltaFrame, InferBody, RequestFrame } from '../../../shared/infer'
import { InferError } from '../../../shared/infer-error'
import { createEvents } from '../../../electron/core/events'
import type { PeerEntry, PeerTable } from '../../../electron/core/p2p/peer-table'
import type { AttemptOutcome } from '../../../electron/core/router/attempt'
import type { Candidate } from '../../../electron/core/router/candidates'
import { RetryBudget } from '../../../electron/core/router/retry-budget'
import { Router, type RouteEvent } from '../../../electron/core/router/router'
import type { AttemptEvent, ProviderTransport } from '../../../electron/core/router/transport'
import { createLogger } from '../../../electron/core/util/logger'

const SHA = 'a'.repeat(64)
type Step = AttemptEvent | { wait: number } | { fail: InferError } | { hang: true }
type Script = (frame: RequestFrame, signal: AbortSignal) => Step[]

/** A provider table of named peers, each answering with a script. */
function mesh(scripts: Record<string, Script>, options: { budget?: RetryBudget; maxTokens?: number } = {}) {
  const dead: string[] = []
  const advert = (peerId: string): Advert => ({
    peerId, version: '1', seq: 1, timestamp: Date.now(), paused: false, models: [{ name: 'm', sha256: SHA, params: 1 }],
    benchmark: { m: { decodeTokensPerSecond: 100, prefillTokensPerSecond: 100, ttftMs: 10, gflops: 1 } },
    price: { perMillionTokens: 0, currency: 'credits' }, load: { inflight: 0, queued: 0, capacity: 4 }
  })
  const entries = (): PeerEntry[] => Object.keys(scripts).map((peerId) => ({ peerId, advert: advert(peerId), alive: !dead.includes(peerId), lastSeen: Date.now() }))
  const peers: PeerTable = {
    get: (id) => entries().find((e) => e.peerId === id),
    list: () => entries(),
    candidates: () => entries().filter((e) => e.alive),
    knownModels: () => new Set(['m']),
    markDead: (id) => void dead.push(id)
  }
  const opened: Array<{ peer: string; frame: RequestFrame }> = []
  const transport: ProviderTransport = {
    async *open(candidate: Candidate, frame: RequestFrame, { signal }) {
      opened.push({ peer: candidate.peerId, frame })
      for (const step of scripts[candidate.peerId](frame, signal!)) {
        if ('wait' in step) await new Promise((r) => setTimeout(r, step.wait))
        else if ('fail' in step) throw step.fail
        else if ('hang' in step) await new Promise((_, reject) => signal!.addEventListener('abort', () => reject(signal!.reason)))
        else yield step
        if (signal?.aborted) throw signal.reason
      }
    },
    connected: () => true
  }
  const events = createEvents()
  const outcomes: AttemptOutcome[] = []
  events.on('attempt:settled', (o) => outcomes.push(o))
  const router = new Router({
    peers, transport, events, logger: createLogger('test', { level: 'error' }), policy: 'best', retryBudget: options.budget,
    timeouts: { firstTokenMs: 400, minStallMs: 150, maxStallMs: 300 }
  })
  return { router, opened, outcomes, dead, events }
}

const call = (max = 6, stream = true): InferBody => ({ api: 'completions', body: { model: 'm', prompt: 'hi', max_tokens: max, stream } })
const accept: AttemptEvent = { type: 'accept', sha256: SHA, supportsTokenContinuation: true }
const tok = (id: number, text = `t${id} `): DeltaFrame => ({ type: 'delta', text, tokenIds: [id] })
const prompt: DeltaFrame = { type: 'delta', text: '', promptTokenIds: [1, 2] }
const final: AttemptEvent = { type: 'final', finishReason: 'length', usage: { prompt_tokens: 2, completion_tokens: 6 } }
/** A well-behaved provider: prompt ids, then tokens from where the request says, then final. */
const honest: Script = (frame) => {
  const from = frame.call.body.replay_tokens ?? 0
  const n = (frame.call.body.max_tokens ?? 6) as number
  return [accept, prompt, ...Array.from({ length: n }, (_, i) => tok(from + i)), final]
}

async function collect(router: Router, body = call(), signal?: AbortSignal): Promise<{ text: string; done?: Extract<RouteEvent, { type: 'done' }>; error?: Error }> {
  let text = ''
  try {
    for await (const e of router.route({ id: 'r1', call: body }, { signal })) {
      if (e.type === 'text') text += e.text
      if (e.type === 'done') return { text, done: e }
    }
  } catch (error) {
    return { text, error: error as Error }
  }
  return { text }
}

describe('the failover loop', () => {
  it('continues token-exactly after a provider breaks mid-stream, and settles each attempt once', async () => {
    const { router, opened, outcomes } = mesh({
      a: () => [accept, prompt, tok(0), tok(1), { fail: new InferError('provider_stream_broken', 'reset') }],
      b: honest
    })
    const r = await collect(router)
    expect(r.text).toBe('t0 t1 t2 t3 t4 t5 ')
    expect(r.done?.meshwork).toEqual({ providers: ['a', 'b'], failovers: 1 })
    expect(opened[1].frame.call.body).toMatchObject({ prompt: [1, 2, 0, 1], replay_tokens: 2, max_tokens: 4 })
    expect(outcomes.map((o) => [o.provider, o.kind, o.tokens])).toEqual([['a', 'failed', 2], ['b', 'ok', 4]])
    expect(router.records.get('a').failures).toBe(1)
  })

  it('fails over a stalled stream by its stall timeout', async () => {
    const { router, outcomes } = mesh({ a: () => [accept, prompt, tok(0), { hang: true }], b: honest })
    const r = await collect(router)
    expect(r.text).toBe('t0 t1 t2 t3 t4 t5 ')
    expect(outcomes[0]).toMatchObject({ provider: 'a', kind: 'failed', code: 'stall_timeout', failure: 'timeout' })
  })

  it('a refusal skips the provider without blame', async () => {
    const { router, outcomes } = mesh({ a: () => [{ fail: new InferError('provider_paused', 'paused', 503) }], b: honest })
    const r = await collect(router)
    expect(r.done?.meshwork.providers).toEqual(['a', 'b'])
    expect(outcomes[0].kind).toBe('refused')
    expect(router.records.get('a').failures).toBe(0)
  })

  it("a remote provider's claimed client error is its own failure, not the client's", async () => {
    const { router, outcomes } = mesh({ a: () => [{ fail: new InferError('runtime_rejected', 'provider: 401 unauthorized', 401) }], b: honest })
    const r = await collect(router)
    expect(r.error).toBeUndefined()
    expect(r.text).toBe('t0 t1 t2 t3 t4 t5 ')
    expect(outcomes[0]).toMatchObject({ kind: 'failed', failure: 'runtime' })
  })

  it('a stream without a final frame is a failure that fails over', async () => {
    const { router, outcomes } = mesh({ a: () => [accept, prompt, tok(0)], b: honest })
    const r = await collect(router)
    expect(r.text).toBe('t0 t1 t2 t3 t4 t5 ')
    expect(outcomes[0]).toMatchObject({ kind: 'failed', code: 'provider_stream_ended' })
  })

  it('a one-token answer counts as a success', async () => {
    const { router } = mesh({ a: honest })
    await collect(router, call(1))
    expect(router.records.get('a').successes).toBe(1)
  })

  it('a runaway provider is cut off at max_tokens; the client gets exactly max_tokens', async () => {
    const runaway: Script = () => [accept, prompt, ...Array.from({ length: 50 }, (_, i) => tok(i)), final]
    const { router, outcomes } = mesh({ a: runaway })
    const r = await collect(router, call(4))
    expect(r.text).toBe('t0 t1 t2 t3 ')
    expect(r.done?.finishReason).toBe('length')
    expect(outcomes[0]).toMatchObject({ kind: 'failed', code: 'token_limit_exceeded' })
  })

  it('a provider that accepts with another model than its advert is failed over', async () => {
    const { router, outcomes } = mesh({ a: () => [{ ...accept, sha256: 'b'.repeat(64) }, prompt, tok(0), final], b: honest })
    const r = await collect(router)
    expect(r.done?.meshwork.providers).toEqual(['a', 'b'])
    expect(outcomes[0].code).toBe('wrong_model_identity')
  })

  it('a client abort cancels the attempt and counts nothing against the provider', async () => {
    const { router, outcomes } = mesh({ a: () => [accept, prompt, tok(0), { hang: true }] })
    const controller = new AbortController()
    setTimeout(() => controller.abort(new Error('client went away')), 50)
    const r = await collect(router, call(), controller.signal)
    expect(r.error?.message).toBe('client went away')
    expect(outcomes.map((o) => o.kind)).toEqual(['cancelled'])
    expect(router.records.get('a').failures).toBe(0)
  })

  it('a failover waits for the retry budget, and is refused when the wait line is full', async () => {
    const budget = new RetryBudget({ ratio: 0, minConcurrency: 1 })
    const held = await budget.acquire()
    const { router, opened } = mesh({ a: () => [{ fail: new InferError('runtime_error', 'boom') }], b: honest }, { budget })
    let releasedAt = 0
    setTimeout(() => {
      releasedAt = performance.now()
      held()
    }, 100)
    const r = await collect(router)
    expect(r.text).toBe('t0 t1 t2 t3 t4 t5 ')
    expect(opened.map((o) => o.peer)).toEqual(['a', 'b'])
    expect(releasedAt).toBeGreaterThan(0)

    const full = mesh({ a: () => [{ fail: new InferError('runtime_error', 'boom') }], b: honest }, { budget: new RetryBudget({ ratio: 0, minConcurrency: 0, maxQueued: 0 }) })
    const refused = await collect(full.router)
    expect((refused.error as { code?: string }).code).toBe('retry_budget_exceeded')
    expect(full.opened.map((o) => o.peer)).toEqual(['a'])
  })

  it('no provider left before any token is a 503; reading records never creates them', async () => {
    const { router } = mesh({ a: () => [{ fail: new InferError('provider_unreachable', 'gone', 503) }] })
    for (let i = 0; i < 100; i++) router.records.get(`peer-${i}`)
    expect(router.records.size).toBe(0)
    const r = await collect(router)
    expect((r.error as { code?: string }).code).toBe('no_provider_available')
  })
})
