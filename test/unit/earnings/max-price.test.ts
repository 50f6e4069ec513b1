import { describe, expect, it } from 'vitest'
import type { MaxPrice } from '../../../shared/price'
import type { InferBody } from '../../../shared/infer'
import { InferError } from '../../../shared/infer-error'
import type { Candidate } from '../../../electron/core/router/candidates'
import { priceWeights } from '../../../electron/core/router/scoring'
import { type Script, collect, honest, mesh } from '../routing/scripted-mesh'

interface Provider {
  price: { prompt: number; completion: number }
  tokensPerSecond: number
  /** Fails after this many tokens. */
  failAfter?: number
}

/** Providers of model 'm' with their own advertised prices and speeds. */
function pricedMesh(providers: Record<string, Provider>, maxPrice?: MaxPrice) {
  const script =
    ({ failAfter }: Provider): Script =>
    (frame, signal) => {
      const steps = honest(frame, signal)
      if (failAfter === undefined) return steps
      // accept and prompt ids, then `failAfter` tokens, then the runtime crashes
      return [...steps.slice(0, 2 + failAfter), { fail: new InferError('runtime_error', 'the runtime crashed', 502) }]
    }
  const scripts = Object.fromEntries(Object.entries(providers).map(([peerId, p]) => [peerId, script(p)]))
  return mesh(scripts, {
    maxPrice,
    advert: (peerId, advert) => ({
      ...advert,
      benchmark: { m: { ...advert.benchmark.m, decodeTokensPerSecond: providers[peerId].tokensPerSecond } },
      price: { ...advert.price, models: { m: providers[peerId].price } }
    })
  })
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
    expect(opened.map((o) => o.peer)).toEqual(['dear'])
  })

  it('a request maximum sends the job to the cheap slow provider only', async () => {
    const { router, opened } = pricedMesh({ cheap: cheapSlow, dear: dearFast })
    for (let i = 0; i < 5; i++) expect((await collect(router, request(2))).done).toBeDefined()
    expect(opened.map((o) => o.peer)).toEqual(['cheap', 'cheap', 'cheap', 'cheap', 'cheap'])
  })

  it('the config maximum holds even when a request asks for more', async () => {
    const { router, opened } = pricedMesh({ cheap: cheapSlow, dear: dearFast }, 2)
    expect((await collect(router, request(100))).done).toBeDefined()
    expect(opened.map((o) => o.peer)).toEqual(['cheap'])
  })

  it('prompt and completion maxima are checked each on its own', async () => {
    const { router, opened } = pricedMesh({
      cheap: { ...cheapSlow, price: { prompt: 0.1, completion: 5 } },
      dear: dearFast
    })
    expect((await collect(router, request({ prompt: 10, completion: 4 }))).done).toBeDefined()
    expect(opened.map((o) => o.peer)).toEqual(['dear'])
  })

  it('when no provider is within the maximum: 402 price_exceeded, and no provider is asked', async () => {
    const { router, opened } = pricedMesh({ cheap: cheapSlow, dear: dearFast })
    const { error } = await collect(router, request(0.5))
    expect(error).toMatchObject({ code: 'price_exceeded', status: 402 })
    expect(error?.message).toMatch(/within the maximum price/)
    expect(opened.map((o) => o.peer)).toEqual([])
  })

  it('a failover never goes over the maximum: it fails instead', async () => {
    const { router, opened } = pricedMesh({ cheap: { ...cheapSlow, failAfter: 3 }, dear: dearFast })
    const { error, text } = await collect(router, request(2))
    expect(text).toBe('t0 t1 t2 ')
    expect(error).toMatchObject({ code: 'provider_error' })
    expect(opened.map((o) => o.peer)).toEqual(['cheap'])
  })

  it('weighs price against speed: between equally fast providers the cheaper wins', async () => {
    const { router, opened } = pricedMesh({
      dear: { ...dearFast, tokensPerSecond: 50 },
      cheap: { ...cheapSlow, tokensPerSecond: 50 }
    })
    expect((await collect(router, request())).done).toBeDefined()
    expect(opened.map((o) => o.peer)).toEqual(['cheap'])
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
