import { describe, expect, it } from 'vitest'
import type { Candidate } from '../../../electron/core/router/candidates'
import { ProviderRecords } from '../../../electron/core/router/provider-records'
import { RetryBudget, RetryBudgetExceededError } from '../../../electron/core/router/retry-budget'
import { pick, score } from '../../../electron/core/router/scoring'
import { StopFilter } from '../../../electron/core/router/stop-filter'
import { StreamState } from '../../../electron/core/router/stream-state'
import { AttemptTimer, DEFAULT_TIMEOUTS } from '../../../electron/core/router/timeouts'

const cand = (peerId: string, tps: number, extra: Partial<Candidate> = {}): Candidate => ({
  peerId,
  local: false,
  decodeTokensPerSecond: tps,
  ttftMs: 100,
  rttMs: 5,
  advertQueue: 0,
  capacity: 2,
  ...extra
})

/** Deterministic PRNG so the distribution checks do not depend on luck. */
function lcg(seed: number): () => number {
  let s = seed
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32
}

describe('scoring', () => {
  it('prefers faster, closer, less loaded and more reliable providers', () => {
    const records = new ProviderRecords()
    expect(score(cand('a', 300), records, 0)).toBeGreaterThan(score(cand('b', 30), records, 0))
    expect(score(cand('a', 100, { rttMs: 5 }), records, 0)).toBeGreaterThan(
      score(cand('b', 100, { rttMs: 400 }), records, 0)
    )
    expect(score(cand('a', 100), records, 0)).toBeGreaterThan(score(cand('b', 100, { advertQueue: 6 }), records, 0))
    expect(score(cand('a', 100), records, 0)).toBeGreaterThan(score(cand('a', 100), records, 4))
    expect(score(cand('a', 100, { throughputMbps: 1000 }), records, 0)).toBeGreaterThan(
      score(cand('b', 100, { throughputMbps: 0.5 }), records, 0)
    )
    records.failure('b', 'timeout', 'stall_timeout')
    records.success('a')
    expect(score(cand('a', 100), records, 0)).toBeGreaterThan(score(cand('b', 100), records, 0))
  })

  it('p2c spreads load and never picks the worst of three', () => {
    const records = new ProviderRecords()
    const list = [cand('fast', 300), cand('mid', 200), cand('slow', 20)]
    const counts: Record<string, number> = { fast: 0, mid: 0, slow: 0 }
    const random = lcg(7)
    for (let i = 0; i < 3000; i++) counts[pick(list, (c) => score(c, records, 0), 'p2c', random)!.peerId]++
    expect(counts.slow).toBe(0)
    expect(counts.fast).toBeGreaterThan(counts.mid)
    expect(counts.mid).toBeGreaterThan(500)
    expect(pick(list, (c) => score(c, records, 0), 'best')!.peerId).toBe('fast')
    expect(pick([], () => 1)).toBeUndefined()
  })

  it('gives a newcomer that passed its checks traffic beside long-trusted providers of the same speed', () => {
    const records = new ProviderRecords()
    const list = [cand('old', 100), cand('older', 100), cand('newcomer', 100)]
    // trust after one passed, cross-checked challenge against two with thousands of jobs behind them
    const trust: Record<string, number> = { old: 0.99, older: 1, newcomer: 0.67 }
    const counts: Record<string, number> = { old: 0, older: 0, newcomer: 0 }
    const random = lcg(11)
    for (let i = 0; i < 3000; i++)
      counts[pick(list, (c) => score(c, records, 0, trust[c.peerId]), 'p2c', random)!.peerId]++
    expect(counts.newcomer).toBeGreaterThan(600)
    // doubt still costs: an unchecked newcomer (0.4) or one with failures against it scores lower
    expect(score(cand('a', 100), records, 0, 0.4)).toBeLessThan(score(cand('b', 100), records, 0, 0.67))
  })

  it('ejects with exponential backoff and forgives on success', () => {
    let now = 1000
    const records = new ProviderRecords({ ejectBaseMs: 100, ejectMaxMs: 350, now: () => now })
    expect(records.failure('p', 'closed', 'x')).toBe(100)
    expect(records.failure('p', 'closed', 'x')).toBe(200)
    expect(records.failure('p', 'closed', 'x')).toBe(350)
    expect(records.ejectedFor('p')).toBe(350)
    now += 400
    expect(records.ejectedFor('p')).toBe(0)
    records.success('p')
    expect(records.failure('p', 'closed', 'x')).toBe(100)
    expect(records.get('p').failures).toBe(4)
  })
})

describe('retry budget', () => {
  it('allows max(3, 20% of active) concurrent retries and queues the rest in order', async () => {
    const budget = new RetryBudget({ ratio: 0.2, minConcurrency: 3, maxQueued: 2 })
    const ends = Array.from({ length: 10 }, () => budget.requestStarted())
    expect(budget.limit()).toBe(3)
    const held = [await budget.acquire(), await budget.acquire(), await budget.acquire()]
    const order: number[] = []
    const w1 = budget.acquire().then((r) => (order.push(1), r))
    const w2 = budget.acquire().then((r) => (order.push(2), r))
    await expect(budget.acquire()).rejects.toBeInstanceOf(RetryBudgetExceededError)
    expect(budget.stats().queued).toBe(2)
    held[0]()
    held[0]() // double release is harmless
    const r1 = await w1
    expect(order).toEqual([1])
    // more active requests raise the limit: 20 active → 4 retries
    const more = Array.from({ length: 10 }, () => budget.requestStarted())
    expect(budget.limit()).toBe(4)
    await w2
    expect(order).toEqual([1, 2])
    for (const r of [r1, held[1], held[2]]) r()
    for (const e of [...ends, ...more]) e()
    expect(budget.stats()).toMatchObject({ active: 0, queued: 0 })
  })

  it('drops an aborted waiter from the queue', async () => {
    const budget = new RetryBudget({ minConcurrency: 1 })
    const held = await budget.acquire()
    const controller = new AbortController()
    const waiting = budget.acquire({ signal: controller.signal })
    controller.abort(new Error('gone'))
    await expect(waiting).rejects.toThrow('gone')
    expect(budget.stats().queued).toBe(0)
    held()
  })
})

describe('stop filter', () => {
  it('cuts at a stop string split across deltas and holds back possible prefixes', () => {
    const f = new StopFilter(['END', '\n\n'])
    expect(f.push('hello E')).toEqual({ text: 'hello ', stopped: false })
    expect(f.push('N')).toEqual({ text: '', stopped: false })
    expect(f.push('Dx')).toEqual({ text: '', stopped: true })
    expect(f.flush()).toBe('')
  })

  it('releases held text that turned out not to be a stop string', () => {
    const f = new StopFilter(['END'])
    expect(f.push('aE').text).toBe('a')
    expect(f.push('Nb').text).toBe('ENb')
    expect(f.push('EN').text).toBe('')
    expect(f.flush()).toBe('EN')
  })

  it('passes text through unchanged without stop strings', () => {
    expect(new StopFilter([]).push('END').text).toBe('END')
  })
})

describe('continuation', () => {
  it('continues a chat stream as a token-exact completion of prompt ids + emitted ids', () => {
    const state = new StreamState({
      api: 'chat',
      body: { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10, temperature: 0, stop: ['zz'] }
    })
    expect(state.nextCall()).toBe(state.call)
    state.absorb({ type: 'delta', text: 'ab', tokenIds: [5, 6], promptTokenIds: [1, 2, 3] })
    state.absorb({ type: 'delta', text: 'c', tokenIds: [7] })
    const next = state.nextCall()
    expect(next).toMatchObject({
      api: 'completions',
      body: { model: 'm', prompt: [1, 2, 3, 5, 6, 7], replay_tokens: 3, max_tokens: 7, temperature: 0, stop: ['zz'] }
    })
    for (let i = 0; i < 7; i++) state.absorb({ type: 'delta', text: 'x', tokenIds: [9] })
    expect(state.nextCall()).toBe('length')
    expect(state.usage(undefined)).toEqual({ prompt_tokens: 3, completion_tokens: 10, total_tokens: 13 })
  })

  it('falls back to approximate text continuation only for text prompts without token ids', () => {
    const state = new StreamState({ api: 'completions', body: { model: 'm', prompt: 'Once', max_tokens: 5 } })
    state.absorb({ type: 'delta', text: ' upon' })
    expect(state.nextCall()).toMatchObject({ body: { prompt: 'Once upon' } })
    expect(state.approximate).toBe(true)
    const chat = new StreamState({ api: 'chat', body: { model: 'm', messages: [{ role: 'user', content: 'hi' }] } })
    chat.absorb({ type: 'delta', text: 'x' })
    expect(chat.nextCall()).toBe('impossible')
  })

  it('starts over with nothing of the first answer but its providers and failovers', () => {
    const chat = new StreamState({
      api: 'chat',
      body: { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 }
    })
    chat.providers.push('p1')
    chat.failovers = 1
    chat.sha256 = 'abc'
    // the first runtime's template stop, an approximate count and text without ids
    chat.absorb({ type: 'delta', text: 'Hel', stop: ['<end>'], approximate: true })
    const fresh = chat.startedOver()
    expect(fresh.nextCall()).toBe(chat.call)
    expect(fresh).toMatchObject({ providers: ['p1'], failovers: 1, tokensKnown: true, approximate: false })
    expect([fresh.received, fresh.tokenCount, fresh.sha256, fresh.promptIds]).toEqual([false, 0, undefined, undefined])
    // the old answer's stop string is gone: text that holds it passes whole
    expect(fresh.absorb({ type: 'delta', text: 'a<end>b', tokenIds: [1, 2, 3], promptTokenIds: [4] })).toBe('a<end>b')
    expect(fresh.promptIds).toEqual([4])
    fresh.providers.push('p2')
    expect(chat.providers).toEqual(['p1'])
  })
})

describe('stall timer', () => {
  it('adapts the stall timeout to the stream pace within bounds', () => {
    const pace = { gapMs: undefined as number | undefined }
    const timer = new AttemptTimer(DEFAULT_TIMEOUTS, pace, new AbortController().signal, 0)
    timer.firstToken()
    expect(timer.stallMs()).toBe(DEFAULT_TIMEOUTS.minStallMs)
    for (let i = 0; i < 50; i++) timer.tokenArrived(1000)
    expect(timer.stallMs()).toBeGreaterThan(7000)
    for (let i = 0; i < 50; i++) timer.tokenArrived(60_000)
    expect(timer.stallMs()).toBe(DEFAULT_TIMEOUTS.maxStallMs)
    timer.clear()
  })

  it('aborts its signal with a timeout reason', async () => {
    const timer = new AttemptTimer(
      { ...DEFAULT_TIMEOUTS, firstTokenMs: 20 },
      { gapMs: undefined },
      new AbortController().signal,
      0
    )
    await new Promise((r) => timer.signal.addEventListener('abort', r))
    expect(timer.reason?.code).toBe('first_token_timeout')
  })
})
