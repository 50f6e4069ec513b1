import { z } from 'zod'
import { MODEL_NAME } from './models'

/** No price or maximum may exceed this (credits per million tokens); keeps amounts finite and exact. */
export const MAX_PRICE_PER_MILLION = 1_000_000

const PerMillion = z.number().nonnegative().max(MAX_PRICE_PER_MILLION)

/** What one model costs, in credits per million prompt and per million completion tokens. */
export const ModelPriceSchema = z.strictObject({ prompt: PerMillion, completion: PerMillion })
export type ModelPrice = z.infer<typeof ModelPriceSchema>

/**
 * The price a provider states in its signed advert. `perMillionTokens` is the flat price older
 * adverts carry (it applies to prompt and completion alike); `models` names per-model prices.
 */
export const AdvertPriceSchema = z.object({
  perMillionTokens: PerMillion,
  currency: z.string().max(16),
  models: z.record(z.string().regex(MODEL_NAME), ModelPriceSchema).optional()
})
export type AdvertPrice = z.infer<typeof AdvertPriceSchema>

/** A consumer's maximum: one number for both kinds of token, or each on its own. */
export const MaxPriceSchema = z.union([
  PerMillion,
  z.strictObject({ prompt: PerMillion.optional(), completion: PerMillion.optional() })
])
export type MaxPrice = z.infer<typeof MaxPriceSchema>

export function priceOf(price: AdvertPrice, model: string): ModelPrice {
  return price.models?.[model] ?? { prompt: price.perMillionTokens, completion: price.perMillionTokens }
}

export function withinMax(price: ModelPrice, max: MaxPrice | undefined): boolean {
  if (max === undefined) return true
  const limit = typeof max === 'number' ? { prompt: max, completion: max } : max
  return price.prompt <= (limit.prompt ?? Infinity) && price.completion <= (limit.completion ?? Infinity)
}

/** The tighter of two maxima (config and request), either possibly absent. */
export function tighterMax(a: MaxPrice | undefined, b: MaxPrice | undefined): MaxPrice | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  const x = typeof a === 'number' ? { prompt: a, completion: a } : a
  const y = typeof b === 'number' ? { prompt: b, completion: b } : b
  const min = (p?: number, q?: number): number | undefined =>
    p === undefined ? q : q === undefined ? p : Math.min(p, q)
  return { prompt: min(x.prompt, y.prompt), completion: min(x.completion, y.completion) }
}

/** Nano-credits per credit: amounts are kept as whole nano-credits so sums are exact. */
export const NANO = 1_000_000_000

/** What a job costs, in whole nano-credits (price is per million tokens, so 1 token = price × 1000 nano). */
export function amountNano(price: ModelPrice, promptTokens: number, completionTokens: number): number {
  return Math.round(promptTokens * price.prompt * 1000 + completionTokens * price.completion * 1000)
}

/** A change of this node's prices from the dashboard (`prices:set`); what is left out stays. */
export const PriceUpdateSchema = z.strictObject({
  pricePerMillionTokens: PerMillion.optional(),
  /** Replaces the per-model prices as a whole. */
  prices: z.record(z.string().regex(MODEL_NAME), ModelPriceSchema).optional(),
  priceUnit: z.string().min(1).max(16).optional()
})
export type PriceUpdate = z.infer<typeof PriceUpdateSchema>

/** One blended number for comparing prices (a typical job has about as many prompt as answer tokens). */
export function blendedPrice(price: ModelPrice): number {
  return (price.prompt + price.completion) / 2
}
