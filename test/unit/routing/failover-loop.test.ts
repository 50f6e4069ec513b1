import { describe, expect, it } from 'vitest'
import { InferError } from '../../../shared/infer-error'
import { RetryBudget } from '../../../electron/core/router/retry-budget'
import { type Script, accept, call, chat, collect, final, honest, mesh, prompt, tok } from './scripted-mesh'

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
    expect(outcomes.map((o) => [o.provider, o.kind, o.tokens])).toEqual([
      ['a', 'failed', 2],
      ['b', 'ok', 4]
    ])
    expect(router.records.get('a').failures).toBe(1)
    expect(outcomes.map((o) => o.promptTokens)).toEqual([2, 2])
  })

  // the soak saw a few streams end this way with an honest provider up: the log must say why
  it('says which attempts failed and why nobody else could continue when it gives up mid-stream', async () => {
    const logLines: string[] = []
    const broken: Script = () => [accept, prompt, tok(0), { fail: new InferError('provider_stream_ended', 'closed') }]
    const { router } = mesh(
      { a: broken, b: () => [{ fail: new InferError('provider_stream_broken', 'reset') }], c: honest },
      {
        logLines,
        advert: (id, advert) =>
          id === 'c' ? { ...advert, models: [{ ...advert.models[0], sha256: 'c'.repeat(64) }] } : advert
      }
    )
    const r = await collect(router)
    expect(r.error?.message).toMatch(/no provider could continue the stream/)
    const line = logLines.find((l) => l.includes('no provider could continue the stream'))
    expect(line).toBeDefined()
    expect(line).toContain('a: provider_stream_ended closed')
    expect(line).toContain('b: provider_stream_broken reset')
    expect(line).toContain('c: other model build')
  })

  // an OpenAI-compatible runtime gives text without token ids, and a chat cannot be resumed from text
  describe('a chat cut mid-way on a provider that gives no token ids', () => {
    const idless: Script = () => [
      accept,
      { type: 'delta', text: 'x0 ' },
      { type: 'delta', text: 'x1 ' },
      { fail: new InferError('provider_stream_ended', 'closed') }
    ]

    it('starts over on another provider when the answer is sent whole: the client never sees the lost part', async () => {
      const { router, opened } = mesh({ a: idless, b: honest })
      const r = await collect(router, chat(6, false))
      expect(r.error).toBeUndefined()
      expect(r.text).toBe('t0 t1 t2 t3 t4 t5 ')
      expect(r.done?.usage.completion_tokens).toBe(6)
      expect(opened[1].frame.call).toEqual(chat(6, false))
      expect(r.done?.meshwork).toEqual({ providers: ['a', 'b'], failovers: 1 })
    })

    it('fails a stream whose client already has some of the text, saying why', async () => {
      const logLines: string[] = []
      const { router, opened } = mesh({ a: idless, b: honest }, { logLines })
      const r = await collect(router, chat(6, true))
      expect(r.text).toBe('x0 x1 ')
      expect(r.error?.message).toMatch(/no provider could continue the stream/)
      expect(opened).toHaveLength(1)
      expect(logLines.join('\n')).toContain('"continuation":"impossible')
    })
  })

  it('fails over a stalled stream by its stall timeout', async () => {
    const { router, outcomes } = mesh({ a: () => [accept, prompt, tok(0), { hang: true }], b: honest })
    const r = await collect(router)
    expect(r.text).toBe('t0 t1 t2 t3 t4 t5 ')
    expect(outcomes[0]).toMatchObject({ provider: 'a', kind: 'failed', code: 'stall_timeout', failure: 'timeout' })
  })

  it('a refusal skips the provider without blame', async () => {
    const { router, outcomes } = mesh({
      a: () => [{ fail: new InferError('provider_paused', 'paused', 503) }],
      b: honest
    })
    const r = await collect(router)
    expect(r.done?.meshwork.providers).toEqual(['a', 'b'])
    expect(outcomes[0].kind).toBe('refused')
    expect(router.records.get('a').failures).toBe(0)
  })

  it("a remote provider's claimed client error is its own failure, not the client's", async () => {
    const { router, outcomes } = mesh({
      a: () => [{ fail: new InferError('runtime_rejected', 'provider: 401 unauthorized', 401) }],
      b: honest
    })
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
    const { router, outcomes } = mesh({
      a: () => [{ ...accept, sha256: 'b'.repeat(64) }, prompt, tok(0), final],
      b: honest
    })
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
    const { router, opened } = mesh(
      { a: () => [{ fail: new InferError('runtime_error', 'boom') }], b: honest },
      { budget }
    )
    let releasedAt = 0
    setTimeout(() => {
      releasedAt = performance.now()
      held()
    }, 100)
    const r = await collect(router)
    expect(r.text).toBe('t0 t1 t2 t3 t4 t5 ')
    expect(opened.map((o) => o.peer)).toEqual(['a', 'b'])
    expect(releasedAt).toBeGreaterThan(0)

    const full = mesh(
      { a: () => [{ fail: new InferError('runtime_error', 'boom') }], b: honest },
      { budget: new RetryBudget({ ratio: 0, minConcurrency: 0, maxQueued: 0 }) }
    )
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

  it('says the providers are busy, not gone, when every one refused for a full queue', async () => {
    const busy = new InferError('provider_busy', 'queue full', 429)
    const full = mesh({ a: () => [{ fail: busy }], b: () => [{ fail: busy }] })
    const r = await collect(full.router)
    expect(full.opened.map((o) => o.peer).sort()).toEqual(['a', 'b'])
    expect(r.error).toMatchObject({ code: 'providers_busy', status: 503, retryAfterSeconds: 5 })
    expect(r.error?.message).toMatch(/busy.*retry shortly/)
    // one that failed otherwise may be gone: the usual answer
    const mixed = mesh({
      a: () => [{ fail: busy }],
      b: () => [{ fail: new InferError('provider_unreachable', 'gone', 503) }]
    })
    expect((await collect(mixed.router)).error).toMatchObject({ code: 'no_provider_available' })
  })
})
