import type { MaxPrice } from '../../../shared/price'
import { MeshworkError } from '../util/errors'

/** No provider of the model is within the consumer's maximum price: HTTP 402 `price_exceeded`. */
export class PriceExceededError extends MeshworkError {
  constructor(model: string, max: MaxPrice) {
    const limit =
      typeof max === 'number' ? `${max}` : `prompt ${max.prompt ?? 'any'}, completion ${max.completion ?? 'any'}`
    super(
      `No provider of '${model}' is within the maximum price (${limit} credits per million tokens)`,
      'price_exceeded',
      402
    )
    this.name = 'PriceExceededError'
  }
}
