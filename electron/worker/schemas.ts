import { z } from 'zod'

/** OpenAI request bodies the worker accepts; unknown fields are ignored, as OpenAI servers do. */

const TokenId = z.number().int().nonnegative().max(0x7fffffff)
const MAX_PROMPT_TOKENS = 1 << 20

const Stop = z
  .union([z.string().max(512), z.array(z.string().max(512)).max(16)])
  .nullish()
  .transform((s) => (s == null ? [] : typeof s === 'string' ? [s] : s).filter((x) => x.length > 0))

const common = {
  model: z.string().max(256).optional(),
  max_tokens: z.number().int().min(0, 'max_tokens must be >= 0').max(1 << 20).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  seed: z.number().int().nullish(),
  stop: Stop,
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  n: z.literal(1, 'only n = 1 is supported').nullish(),
  /** token-exact continuation (DESIGN §4.5) */
  return_token_ids: z.boolean().nullish()
}

export const CompletionRequestSchema = z.object({
  ...common,
  prompt: z.union([
    z.string(),
    z.array(TokenId).max(MAX_PROMPT_TOKENS),
    z.array(z.string()).length(1, 'only one prompt per request'),
    z.array(z.array(TokenId).max(MAX_PROMPT_TOKENS)).length(1, 'only one prompt per request')
  ], { error: 'prompt must be a string, an array of token ids (non-negative integers), or a one-element array of either' }),
  replay_tokens: z.number().int().min(0).max(MAX_PROMPT_TOKENS).nullish()
})
export type CompletionRequest = z.infer<typeof CompletionRequestSchema>

const ContentPart = z.object({ type: z.string(), text: z.string().optional() })

export const ChatMessageSchema = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(ContentPart).max(256)]).nullish()
})
export type ChatMessage = z.infer<typeof ChatMessageSchema>

export const ChatRequestSchema = z.object({
  ...common,
  messages: z.array(ChatMessageSchema).min(1, 'messages must not be empty').max(4096),
  max_completion_tokens: z.number().int().min(0, 'max_completion_tokens must be >= 0').max(1 << 20).nullish()
})
export type ChatRequest = z.infer<typeof ChatRequestSchema>

/** The first zod issue as one readable sentence. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ')
}
