import { z } from 'zod'
import { MODEL_NAME } from './models'
import { MaxPriceSchema } from './price'

/** Limits on what one OpenAI-style request may carry (the HTTP body limit applies on top). */
export const MAX_MESSAGES = 1024
export const MAX_TEXT_CHARS = 4 * 1024 * 1024
export const MAX_PROMPT_TOKENS = 1 << 20
export const MAX_STOP_STRINGS = 16

const Token = z.number().int().min(0).max(0x7fffffff)
const Stop = z.union([z.string().min(1).max(256), z.array(z.string().min(1).max(256)).max(MAX_STOP_STRINGS)])

const ContentPart = z.object({ type: z.literal('text'), text: z.string().max(MAX_TEXT_CHARS) })

export const ChatMessageSchema = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.union([z.string().max(MAX_TEXT_CHARS), z.array(ContentPart).max(256), z.null()]).optional(),
  name: z.string().max(128).optional()
})
export type ChatMessage = z.infer<typeof ChatMessageSchema>

/**
 * The `meshwork` request extension (OpenAI SDKs pass unknown body fields through): keep the prompt to
 * chosen peers or to this node, and a price ceiling. The router strips it before a provider sees the call.
 */
export const MeshworkRequestSchema = z.object({
  peers: z.array(z.string().min(1).max(128)).max(64).optional(),
  localOnly: z.boolean().optional(),
  /** Credits per million tokens: one number for prompt and completion alike, or `{ prompt, completion }`. */
  maxPrice: MaxPriceSchema.optional()
})
export type MeshworkRequest = z.infer<typeof MeshworkRequestSchema>

/** Sampling fields shared by both endpoints. Unknown fields are dropped, as OpenAI SDKs send extras. */
const Sampling = {
  model: z.string().regex(MODEL_NAME, 'model must be a model name'),
  stream: z.boolean().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: z.number().int().min(1).max(MAX_PROMPT_TOKENS).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  top_k: z.number().int().min(0).max(1_000_000).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  seed: z.number().int().nullish(),
  stop: Stop.nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  n: z.literal(1, { error: 'only n = 1 is supported' }).nullish(),
  user: z.string().max(256).optional(),
  meshwork: MeshworkRequestSchema.optional()
}

export const ChatCompletionRequestSchema = z.object({
  ...Sampling,
  messages: z.array(ChatMessageSchema).min(1).max(MAX_MESSAGES),
  max_completion_tokens: z.number().int().min(1).max(MAX_PROMPT_TOKENS).nullish()
})
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>

const PromptSchema = z.union(
  [
    z.string().max(MAX_TEXT_CHARS),
    z.array(Token).min(1).max(MAX_PROMPT_TOKENS),
    z.array(z.string().max(MAX_TEXT_CHARS)).length(1, { error: 'only one prompt per request is supported' })
  ],
  { error: 'prompt must be a string, a non-empty array of token ids, or a one-element array of strings' }
)

export const CompletionRequestSchema = z.object({
  ...Sampling,
  prompt: PromptSchema,
  echo: z.literal(false, { error: 'echo is not supported' }).nullish()
})
export type CompletionRequest = z.infer<typeof CompletionRequestSchema>

/** Extra fields the mesh sends to a worker for token-exact continuation; never accepted from HTTP clients. */
export const WorkerExtras = {
  return_token_ids: z.boolean().optional(),
  replay_tokens: z.number().int().min(0).max(MAX_PROMPT_TOKENS).optional(),
  /**
   * On a continuation, the original request's messages or prompt: the runtime refuses unless the
   * token-id `prompt` begins with its own tokenization of it, so no provider can plant context for
   * the one that continues after it.
   */
  continuation_of: z
    .object({
      messages: z.array(ChatMessageSchema).min(1).max(MAX_MESSAGES).optional(),
      prompt: PromptSchema.optional()
    })
    .optional()
}

export type Usage = { prompt_tokens: number; completion_tokens: number; total_tokens: number }
export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_calls' | null

export interface MeshworkInfo {
  providers: string[]
  failovers: number
  approximate?: boolean
}
