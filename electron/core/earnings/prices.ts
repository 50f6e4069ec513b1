import type { AdvertPrice } from '../../../shared/price'
import type { Config } from '../config'

/** This node's prices as its advert states them (and its receipts charge). */
export function advertPrice(config: Pick<Config, 'pricePerMillionTokens' | 'prices' | 'priceUnit'>): AdvertPrice {
  const models = Object.keys(config.prices).length > 0 ? config.prices : undefined
  return { perMillionTokens: config.pricePerMillionTokens, currency: config.priceUnit, ...(models ? { models } : {}) }
}
