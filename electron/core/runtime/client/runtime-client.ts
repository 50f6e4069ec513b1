import { z } from 'zod'
import type { DeltaFrame, FinalFrame, InferBody } from '../../../../shared/infer'
import { TimingsSchema, UsageSchema } from '../../../../shared/infer'
import { InferError } from '../../../../shared/infer-error'
import type { IncomingMessage } from 'node:http'
import { type PostOptions, postStream, readText } from './http-post'
import { sseBatches } from './sse'

/** What a runtime call yields: token deltas, then one final event. */
export type RuntimeEvent = DeltaFrame | FinalFrame

export interface RuntimeCallOptions extends PostOptions {
  /** Sent as `Authorization: Bearer` (a runtime's per-launch token). */
  token?: string
}

const MAX_ERROR_BODY_CHARS = 64 * 1024

const Token = z.number().int().min(0)
const WorkerChunkSchema = z.object({
  prompt_token_ids: z.array(Token).optional(),
  meshwork_approximate: z.boolean().optional(),
  meshwork_stop: z.array(z.string().min(1).max(256)).max(16).optional(),
  choices: z
    .array(
      z.object({
        text: z.string().nullish(),
        delta: z.object({ content: z.string().nullish() }).nullish(),
        token_ids: z.array(Token).nullish(),
        finish_reason: z.string().nullish()
      })
    )
    .optional(),
  usage: UsageSchema.nullish(),
  timings: TimingsSchema.nullish(),
  error: z.object({ message: z.string().optional(), code: z.union([z.string(), z.number()]).nullish() }).optional()
})

/**
 * Calls an OpenAI-compatible runtime with streaming and token ids, and turns its SSE into token
 * deltas and one final event. A body that ends without a finish is an error.
 */
export async function* streamCompletion(
  endpoint: string,
  call: InferBody,
  options: RuntimeCallOptions = {}
): AsyncGenerator<RuntimeEvent> {
  const path = call.api === 'chat' ? '/v1/chat/completions' : '/v1/completions'
  const body = { ...call.body, stream: true, stream_options: { include_usage: true }, return_token_ids: true }
  let response: IncomingMessage
  try {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' }
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
    response = await postStream(endpoint + path, JSON.stringify(body), headers, options)
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason
    throw new InferError('runtime_unreachable', `runtime at ${endpoint} unreachable: ${(err as Error).message}`, 503, {
      cause: err
    })
  }
  const status = response.statusCode ?? 0
  if (status < 200 || status > 299) throw await errorFromResponse(response, status)

  let finishReason: string | null | undefined
  let usage: FinalFrame['usage']
  let timings: FinalFrame['timings']
  let sawDone = false
  // Events that arrive in one read are merged into one delta: no added delay, and fewer frames
  // (less CPU per token) exactly when the relay falls behind the runtime.
  for await (const batch of sseBatches(response, options)) {
    if (sawDone) continue // only the body's end can follow; reading it keeps the connection open
    let pending: DeltaFrame | undefined
    for (const data of batch) {
      if (data === '[DONE]') {
        sawDone = true
        break
      }
      let chunk: z.infer<typeof WorkerChunkSchema>
      try {
        chunk = WorkerChunkSchema.parse(JSON.parse(data))
      } catch (err) {
        throw new InferError('bad_runtime_chunk', `runtime sent an unreadable chunk: ${(err as Error).message}`)
      }
      if (chunk.error)
        throw new InferError(
          'runtime_error',
          `runtime error ${String(chunk.error.code ?? '')}: ${chunk.error.message ?? ''}`.slice(0, 2048)
        )
      const choice = chunk.choices?.[0]
      const text = choice?.text ?? choice?.delta?.content ?? ''
      const tokenIds = choice?.token_ids ?? undefined
      if (text !== '' || (tokenIds && tokenIds.length > 0) || chunk.prompt_token_ids || chunk.meshwork_stop) {
        const delta: DeltaFrame = { type: 'delta', text }
        if (tokenIds) delta.tokenIds = tokenIds
        if (chunk.prompt_token_ids) delta.promptTokenIds = chunk.prompt_token_ids
        if (chunk.meshwork_approximate) delta.approximate = true
        if (chunk.meshwork_stop) delta.stop = chunk.meshwork_stop
        pending = pending === undefined ? delta : merge(pending, delta)
      }
      if (choice?.finish_reason) finishReason = choice.finish_reason
      if (chunk.usage) usage = chunk.usage
      if (chunk.timings) timings = chunk.timings
    }
    if (pending) yield pending
    // a body not complete at its [DONE] is not read on: a runtime that leaves it open must not hold
    // the job (this closes the connection instead of reusing it)
    if (sawDone && !response.complete) break
  }
  if (finishReason === undefined && !sawDone) {
    throw new InferError('stream_truncated', 'the runtime stream ended before the generation finished')
  }
  const final: FinalFrame = { type: 'final', finishReason: finishReason ?? null }
  if (usage) final.usage = usage
  if (timings) final.timings = timings
  yield final
}

function merge(a: DeltaFrame, b: DeltaFrame): DeltaFrame {
  const out: DeltaFrame = { type: 'delta', text: a.text + b.text }
  // ids are exact only if every merged piece had them
  if (a.tokenIds && b.tokenIds) out.tokenIds = [...a.tokenIds, ...b.tokenIds]
  const prompt = a.promptTokenIds ?? b.promptTokenIds
  if (prompt) out.promptTokenIds = prompt
  if (a.approximate || b.approximate) out.approximate = true
  const stop = a.stop ?? b.stop
  if (stop) out.stop = stop
  return out
}

/**
 * A runtime's HTTP error. Refusals keep their meaning (busy, unavailable); any other status is the
 * runtime rejecting the job, which the consumer cannot check, so it is a failure, not a client error.
 */
async function errorFromResponse(response: IncomingMessage, status: number): Promise<InferError> {
  const text = await readText(response, MAX_ERROR_BODY_CHARS)
  let message = text || (response.statusMessage ?? '')
  let code: unknown
  try {
    const parsed = JSON.parse(text) as { error?: { message?: string; code?: unknown } | string }
    if (typeof parsed.error === 'string') message = parsed.error
    else if (typeof parsed.error?.message === 'string') message = parsed.error.message
    if (typeof parsed.error === 'object') code = parsed.error.code
  } catch {
    // not JSON: keep the text
  }
  message = `runtime answered ${status}: ${message}`.slice(0, 2048)
  if (status === 429) return new InferError('provider_busy', message, 429)
  if (status === 409 && code === 'continuation_mismatch') return new InferError('continuation_mismatch', message, 409)
  if (status === 503) return new InferError('runtime_unavailable', message, 503)
  return new InferError(status >= 500 ? 'runtime_error' : 'runtime_rejected', message, status)
}

/** `streamCompletion` on a runtime's endpoint, or `runtime_unavailable` when it has none right now. */
export async function* streamFromEndpoint(
  endpoint: string | undefined,
  call: InferBody,
  options: RuntimeCallOptions = {}
): AsyncGenerator<RuntimeEvent> {
  if (endpoint === undefined) throw new InferError('runtime_unavailable', 'no runtime is ready', 503)
  yield* streamCompletion(endpoint, call, options)
}
