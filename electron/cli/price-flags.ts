import type { ConfigInput } from '../core/config'
import { MODEL_NAME } from '../../shared/models'
import type { MaxPrice, ModelPrice } from '../../shared/price'

function amount(text: string, flag: string): number {
  const value = Number(text)
  if (text.trim() === '' || !Number.isFinite(value) || value < 0)
    throw new Error(`${flag}: '${text}' is not a price (credits per million tokens, ≥ 0)`)
  return value
}

/** `P` or `P/C`: prompt and completion credits per million tokens (one number: both). */
function pair(text: string, flag: string): ModelPrice {
  const [prompt, completion, extra] = text.split('/')
  if (extra !== undefined) throw new Error(`${flag}: '${text}' has more than PROMPT/COMPLETION`)
  const p = amount(prompt, flag)
  return { prompt: p, completion: completion === undefined ? p : amount(completion, flag) }
}

/**
 * `--price N` (every model, prompt and completion), `--price MODEL=P[/C]` (one model; repeat it),
 * `--max-price P[/C]`, `--price-unit NAME`.
 */
export function priceFlags(
  prices: string[] | undefined,
  maxPrice: string | undefined,
  unit: string | undefined
): Partial<ConfigInput> {
  const out: Partial<ConfigInput> = {}
  for (const entry of prices ?? []) {
    const at = entry.indexOf('=')
    if (at < 0) {
      out.pricePerMillionTokens = amount(entry, '--price')
      continue
    }
    const model = entry.slice(0, at)
    if (!MODEL_NAME.test(model)) throw new Error(`--price: '${model}' is not a model name`)
    out.prices = { ...out.prices, [model]: pair(entry.slice(at + 1), '--price') }
  }
  if (maxPrice !== undefined) {
    const max = pair(maxPrice, '--max-price')
    out.maxPrice = (max.prompt === max.completion ? max.prompt : max) as MaxPrice
  }
  if (unit !== undefined) out.priceUnit = unit
  return out
}
