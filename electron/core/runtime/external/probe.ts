import { createHash } from 'node:crypto'
import { z } from 'zod'
import { MODEL_NAME, type ServedModel } from '../../../../shared/models'
import { probe } from '../health'

const ModelListSchema = z.object({
  data: z.array(z.object({ id: z.string().min(1).max(256) }).loose()).max(256)
})

const TokenIdsReplySchema = z.object({
  choices: z.array(z.object({ token_ids: z.array(z.number().int().min(0)).min(1) }).loose()).min(1)
})

export interface ExternalProbe {
  reachable: boolean
  /** Model ids from GET /v1/models (empty when only /health answered). */
  modelIds: string[]
  error?: string
}

/** GET /v1/models, else GET /health: is an OpenAI-compatible server answering at `base`? */
export async function probeExternal(
  base: string,
  options: { signal?: AbortSignal; timeoutMs?: number } = {}
): Promise<ExternalProbe> {
  const models = await probe(`${base}/v1/models`, options)
  if (models.ok) {
    const parsed = ModelListSchema.safeParse(models.body)
    if (parsed.success) return { reachable: true, modelIds: parsed.data.data.map((m) => m.id) }
  }
  const health = await probe(`${base}/health`, options)
  if (health.ok) return { reachable: true, modelIds: [] }
  const error = models.error ?? health.error ?? `HTTP ${models.status ?? health.status}`
  return { reachable: false, modelIds: [], error }
}

/** Does the server take our extension (`return_token_ids`, token-id prompts)? One 1-token completion tells. */
export async function supportsTokenIds(
  base: string,
  model: string,
  options: { signal?: AbortSignal; timeoutMs?: number } = {}
): Promise<boolean> {
  const signal = AbortSignal.any([
    AbortSignal.timeout(options.timeoutMs ?? 10_000),
    ...(options.signal ? [options.signal] : [])
  ])
  try {
    const response = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, prompt: 'Hi', max_tokens: 1, temperature: 0, return_token_ids: true }),
      signal
    })
    if (!response.ok) return false
    const text = await response.text()
    if (text.length > 1 << 20) return false
    return TokenIdsReplySchema.safeParse(JSON.parse(text)).success
  } catch (err) {
    if (options.signal?.aborted) throw err
    return false
  }
}

/**
 * An external server's models have no GGUF hash we can trust; a hash of endpoint + id keeps them
 * apart from every other provider's, so no token-exact continuation is attempted across them.
 */
export function externalModel(base: string, id: string): ServedModel | undefined {
  if (!MODEL_NAME.test(id)) return undefined
  const sha256 = createHash('sha256').update(`meshwork:external:${base}:${id}`).digest('hex')
  return { name: id, sha256, params: 0 }
}
