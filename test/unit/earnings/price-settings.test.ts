import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../../electron/core/config'
import { advertPrice } from '../../../electron/core/earnings/prices'
import { updatePrices } from '../../../electron/core/earnings/price-settings'
import { priceFlags } from '../../../electron/cli/price-flags'
import { PriceUpdateSchema } from '../../../shared/price'
import { tempDir } from './fixtures'

let dir: ReturnType<typeof tempDir>
beforeEach(() => (dir = tempDir()))
afterEach(() => dir.cleanup())

describe('prices', () => {
  it('flags: a flat price, per-model prompt/completion prices, a maximum and a unit', () => {
    expect(priceFlags(['0.5', 'meshwork-tiny=1/3', 'other=2'], '4/8', 'tokens')).toEqual({
      pricePerMillionTokens: 0.5,
      prices: { 'meshwork-tiny': { prompt: 1, completion: 3 }, other: { prompt: 2, completion: 2 } },
      maxPrice: { prompt: 4, completion: 8 },
      priceUnit: 'tokens'
    })
    expect(priceFlags(undefined, '3', undefined)).toEqual({ maxPrice: 3 })
    expect(() => priceFlags(['-1'], undefined, undefined)).toThrow(/not a price/)
    expect(() => priceFlags(['bad name!=1'], undefined, undefined)).toThrow(/not a model name/)
    expect(() => priceFlags(['m=1/2/3'], undefined, undefined)).toThrow(/more than PROMPT\/COMPLETION/)
  })

  it('the advert carries the flat price, the per-model prices and the unit', () => {
    const config = loadConfig({ dataDir: dir.dir, ...priceFlags(['0.25', 'm=1/2'], undefined, 'credits') }, {})
    expect(advertPrice(config)).toEqual({
      perMillionTokens: 0.25,
      currency: 'credits',
      models: { m: { prompt: 1, completion: 2 } }
    })
  })

  it('a dashboard change is saved into config.json beside what is there, and applies at once', async () => {
    writeFileSync(join(dir.dir, 'config.json'), JSON.stringify({ maxConcurrentJobs: 3 }))
    const config = loadConfig({ dataDir: dir.dir }, {})
    await updatePrices(config, { prices: { m: { prompt: 0.5, completion: 1.5 } }, priceUnit: 'credits' })
    expect(JSON.parse(readFileSync(join(dir.dir, 'config.json'), 'utf8'))).toEqual({
      maxConcurrentJobs: 3,
      prices: { m: { prompt: 0.5, completion: 1.5 } },
      priceUnit: 'credits'
    })
    expect(advertPrice(config).models).toEqual({ m: { prompt: 0.5, completion: 1.5 } })
    expect(loadConfig({ dataDir: dir.dir }, {}).prices).toEqual({ m: { prompt: 0.5, completion: 1.5 } })
  })

  it('refuses negative, huge or misnamed prices before anything is written', () => {
    expect(PriceUpdateSchema.safeParse({ pricePerMillionTokens: -1 }).success).toBe(false)
    expect(PriceUpdateSchema.safeParse({ pricePerMillionTokens: 1e7 }).success).toBe(false)
    expect(PriceUpdateSchema.safeParse({ prices: { 'no spaces': { prompt: 1, completion: 1 } } }).success).toBe(false)
    expect(PriceUpdateSchema.safeParse({ prices: { m: { prompt: 1 } } }).success).toBe(false)
    expect(PriceUpdateSchema.safeParse({ dataDir: '/elsewhere' }).success).toBe(false)
  })
})
