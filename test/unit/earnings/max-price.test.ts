import { describe, expect, it } from 'vitest'
import type { Advert } from '../../../shared/advert'
import type { MaxPrice } from '../../../shared/price'
import type { InferBody, RequestFrame } from '../../../shared/infer'
import { InferError } from '../../../shared/infer-error'
import { createEvents } from '../../../electron/core/events'
import type { PeerEntry, PeerTable } from '../../../electron/core/p2p/peer-table'
import type { Candidate } from '../../../electron/core/router/candidates'
import { Router } from '../../../electron/core/router/router'
import { priceWeights } from '../../../electron/core/router/scoring'
import type { ProviderTransport } from '../../../electron/core/router/transport'
import { createLogger } from '../../../electron/core/util/logger'
import { SHA, accept, collect, final, prompt, tok } from '../routing/scripted-mesh'

interface Provider {
  price: { prompt: number; completion: number }
  tokensPerSecond: number
  /** Fails after this many tokens. */
  failAfter?: number
}

/** Providers of model 'm' with their own advertised prices and speeds. */
function pricedMesh(providers: Record<string, Provider>, maxPrice?: MaxPrice) {
  const advert = (peerId: string): Advert => ({
    peerId,
    version: '1',
    seq: 1,
    timestamp: Date.now(),
    paused: false,
    models: [{ name: 'm', sha256: SHA, params: 1 }],
    benchmark: {
      m: {
        decodeTokensPerSecond: providers[peerId].tokensPerSecond,
        prefillTokensPerSecond: 100,
        ttftMs: 10,
        gflops: 1
      }
    },
    price: { perMillionTokens: 0, currency: 'credits', models: { m: providers[peerId].price } },
    load: { inflight: 0, queued: 0, capacity: 4 }
  })
  const entries = (): PeerEntry[] =>
    Object.keys(providers).map((peerId) => ({ peerId, advert: advert(peerId), alive: true, lastSeen: Date.now() }))
  const peers: PeerTable = {
    get: (id) => entries().find((e) => e.peerId === id),
    list: entries,
    candidates: entries,
    knownModels: () => new Set(['m']),
    markDead: () => {}
  }
  const opened: string[] = []
  const transport: ProviderTransport = {
    async *open(candidate: Candidate, frame: RequestFrame) {
      opened.push(candidate.peerId)
      const from = frame.call.body.replay_tokens ?? 0
      const n = (frame.call.body.max_tokens ?? 6) as number
      yield accept
      yield prompt
      for (let i = 0; i < n; i++) {
        if (providers[candidate.peerId].failAfter === i)
          throw new InferError('runtime_error', 'the runtime crashed', 502)
        yield tok(from + i)
      }
      yield final
    },
    connected: () => true
  }
  const router = new Router({
    peers,
    transport,
    events: createEvents(),
    logger: createLogger('test', { level: 'error' }),
    policy: 'best',
    maxPrice
  })
  return { router, opened }
}

const request = (maxPrice?: MaxPrice): InferBody => ({
  api: 'completions',
  body: {
    model: 'm',
    prompt: 'hi',
    max_tokens: 6,
    stream: true,
    ...(maxPrice === undefined ? {} : { meshwork: { maxPrice } })
  }
})
const cheapSlow: Provider = { price: { prompt: 1, completion: 1 }, tokensPerSecond: 10 }
const dearFast: Provider = { price: { prompt: 3, completion: 3 }, tokensPerSecond: 200 }

describe('a consumer maximum price', () => {
  it('without a maximum, a much faster provider wins despite its price', async () => {
    const { router, opened } = pricedMesh({ cheap: cheapSlow, dear: dearFast })
    expect((await collect(router, request())).done).toBeDefined()
    expect(opened).toEqual(['dear'])
  })

  it('a request maximum sends the job to the cheap slow provider only', async () => {
    const { router, opened } = pricedMesh({ cheap: cheapSlow, dear: dearFast })
    for (let i = 0; i < 5; i++) expect((await collect(router, request(2))).done).toBeDefined()
    expect(opened).toEqual(['cheap', 'cheap', 'cheap', 'cheap', 'cheap'])
  })

  it('the config maximum holds even when a request asks for more', async () => {
    const { router, opened } = pricedMesh({ cheap: cheapSlow, dear: dearFast }, 2)
    expect((await collect(router, request(100))).done).toBeDefined()
    expect(opened).toEqual(['cheap'])
  })

  it('prompt and completion maxima are checked each on its own', async () => {
    const { router, opened } = pricedMesh({
      cheap: { ...cheapSlow, price: { prompt: 0.1, completion: 5 } },
      dear: dearFast
    })
    expect((await collect(router, request({ prompt: 10, completion: 4 }))).done).toBeDefined()
    expect(opened).toEqual(['dear'])
  })

  it('when no provider is within the maximum: 402 price_exceeded, and no provider is asked', async () => {
    const { router, opened } = pricedMesh({ cheap: cheapSlow, dear: dearFast })
    const { error } = await collect(router, request(0.5))
    expect(error).toMatchObject({ code: 'price_exceeded', status: 402 })
    expect(error?.message).toMatch(/within the maximum price/)
    expect(opened).toEqual([])
  })

  it('a failover never goes over the maximum: it fails instead', async () => {
    const { router, opened } = pricedMesh({ cheap: { ...cheapSlow, failAfter: 3 }, dear: dearFast })
    const { error, text } = await collect(router, request(2))
    expect(text).toBe('t0 t1 t2 ')
    expect(error).toMatchObject({ code: 'provider_error' })
    expect(opened).toEqual(['cheap'])
  })

  it('weighs price against speed: between equally fast providers the cheaper wins', async () => {
    const { router, opened } = pricedMesh({
      dear: { ...dearFast, tokensPerSecond: 50 },
      cheap: { ...cheapSlow, tokensPerSecond: 50 }
    })
    expect((await collect(router, request())).done).toBeDefined()
    expect(opened).toEqual(['cheap'])
  })

  it('price weights: equal prices change nothing, 3× the price needs a 1.67× better score', () => {
    const c = (price: number): Candidate => ({
      peerId: String(price),
      local: false,
      advertQueue: 0,
      capacity: 1,
      price: { prompt: price, completion: price }
    })
    expect(priceWeights([c(2), c(2)])(c(2))).toBe(1)
    expect(priceWeights([c(0), c(0)])(c(0))).toBe(1)
    const weight = priceWeights([c(1), c(3)])
    expect(weight(c(1))).toBe(1)
    expect(weight(c(1)) / weight(c(3))).toBeCloseTo(5 / 3, 5)
  })
})
