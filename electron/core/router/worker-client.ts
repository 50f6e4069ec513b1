import { z } from 'zod'
import type { DeltaFrame, FinalFrame, InferBody } from '../../../shared/infer'
import { TimingsSchema, UsageSchema } from '../../../shared/infer'
import type { AbortOptions } from '../util/startable'
import { UpstreamError } from './upstream-error'

/** What one attempt yields, whether it runs on the local runtime or on a remote provider. */
export type StreamEvent = DeltaFrame | FinalFrame

const MAX_SSE_EVENT_CHARS = 4 * 1024 * 1024
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
 * Calls an OpenAI-compatible worker (DESIGN §4.4) with streaming and token ids, and turns its SSE
 * into token deltas and one final event. A body that ends without a finish is an error.
 */
export async function* streamFromWorker(endpoint: string, call: InferBody, options: AbortOptions = {}): AsyncGenerator<StreamEvent> {
  const path = call.api === 'chat' ? '/v1/chat/completions' : '/v1/completions'
  const body = { ...call.body, stream: true, stream_options: { include_usage: true }, return_token_ids: true }
  let response: Response
  try {
    response = await fetch(endpoint + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(body),
      signal: options.signal
    })
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason
    throw new UpstreamError('connect', 'runtime_unreachable', `runtime at ${endpoint} unreachable: ${(err as Error).message}`, 503, { cause: err })
  }
  if (!response.ok || response.body === null) throw await errorFromResponse(response)

  let finishReason: string | null | undefined
  let usage: FinalFrame['usage']
  let timings: FinalFrame['timings']
  let sawDone = false
  // Events that arrive in one read are merged into one delta: no added delay, and fewer frames
  // (less CPU per token) exactly when the relay falls behind the runtime.
  for await (const batch of sseData(response.body, options)) {
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
        throw new UpstreamError('protocol', 'bad_runtime_chunk', `runtime sent an unreadable chunk: ${(err as Error).message}`)
      }
      if (chunk.error) throw new UpstreamError('runtime', String(chunk.error.code ?? 'runtime_error'), chunk.error.message ?? 'runtime error')
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
    if (sawDone) break
  }
  if (finishReason === undefined && !sawDone) {
    throw new UpstreamError('closed', 'stream_truncated', 'the runtime stream ended before the generation finished')
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

async function errorFromResponse(response: Response): Promise<UpstreamError> {
  const text = (await response.text().catch(() => '')).slice(0, MAX_ERROR_BODY_CHARS)
  let message = text || response.statusText
  let code = `runtime_http_${response.status}`
  try {
    const parsed = JSON.parse(text) as { error?: { message?: string; code?: unknown } | string }
    if (typeof parsed.error === 'string') message = parsed.error
    else if (parsed.error) {
      message = parsed.error.message ?? message
      if (typeof parsed.error.code === 'string') code = parsed.error.code
    }
  } catch {
    // not JSON: keep the text
  }
  const client = response.status >= 400 && response.status < 500 && response.status !== 429 && response.status !== 408
  return new UpstreamError(client ? 'client' : 'runtime', code, message, response.status)
}

/** Yields the `data:` payloads of the server-sent events completed by each read. */
async function* sseData(body: ReadableStream<Uint8Array>, options: AbortOptions): AsyncGenerator<string[]> {
  const decoder = new TextDecoder()
  let buffer = ''
  const reader = body.getReader()
  try {
    for (;;) {
      let result: Awaited<ReturnType<typeof reader.read>>
      try {
        result = await reader.read()
      } catch (err) {
        if (options.signal?.aborted) throw options.signal.reason
        throw new UpstreamError('closed', 'runtime_stream_broken', `runtime stream broke: ${(err as Error).message}`, 502, { cause: err })
      }
      if (result.done) break
      buffer += decoder.decode(result.value, { stream: true })
      let sep: RegExpExecArray | null
      const re = /\r?\n\r?\n/g
      let consumed = 0
      const batch: string[] = []
      while ((sep = re.exec(buffer)) !== null) {
        const event = buffer.slice(consumed, sep.index)
        consumed = sep.index + sep[0].length
        const data = event
          .split(/\r?\n/)
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).replace(/^ /, ''))
          .join('\n')
        if (data !== '') batch.push(data)
      }
      buffer = buffer.slice(consumed)
      if (batch.length > 0) yield batch
      if (buffer.length > MAX_SSE_EVENT_CHARS) throw new UpstreamError('protocol', 'sse_event_too_large', 'runtime sent an oversized event')
    }
  } finally {
    reader.cancel().catch(() => {})
  }
}
