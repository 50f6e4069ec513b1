import { z } from 'zod'
import { MeshworkError } from '../../util/errors'
import { sseBatches } from '../client/sse'

export class BenchmarkError extends MeshworkError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'benchmark_failed', 502, options)
    this.name = 'BenchmarkError'
  }
}

/** One streamed `/v1/completions` chunk, as far as a benchmark reads it (llama.cpp's `timings` included). */
const ChunkSchema = z.object({
  choices: z
    .array(z.object({ text: z.string().max(65_536).nullish() }))
    .max(8)
    .nullish(),
  usage: z
    .object({ prompt_tokens: z.number().int().nonnegative(), completion_tokens: z.number().int().nonnegative() })
    .nullish(),
  timings: z
    .object({
      prompt_n: z.number().nonnegative(),
      prompt_ms: z.number().nonnegative(),
      predicted_n: z.number().nonnegative(),
      predicted_ms: z.number().nonnegative()
    })
    .nullish()
})
export type CompletionChunk = z.infer<typeof ChunkSchema>

const MAX_EVENT_CHARS = 1024 * 1024
const MAX_EVENTS = 100_000

/**
 * Reads an SSE body (`data: {...}` … `data: [DONE]`) and calls `onChunk` with each parsed chunk
 * as it arrives, so the caller can time it. Bounded in event size and number of events.
 */
export async function readCompletionStream(
  body: ReadableStream<Uint8Array>,
  onChunk: (chunk: CompletionChunk) => void
): Promise<void> {
  let events = 0
  for await (const batch of sseBatches(body, { maxEventChars: MAX_EVENT_CHARS })) {
    for (const data of batch) {
      if (data === '[DONE]') return
      if (++events > MAX_EVENTS) throw new BenchmarkError('Too many stream events')
      onChunk(parseChunk(data))
    }
  }
}

function parseChunk(data: string): CompletionChunk {
  let json: unknown
  try {
    json = JSON.parse(data)
  } catch {
    throw new BenchmarkError(`The endpoint sent a stream event that is not JSON: ${data.slice(0, 80)}`)
  }
  if (typeof json === 'object' && json !== null && 'error' in json) {
    const detail = JSON.stringify((json as { error: unknown }).error).slice(0, 200)
    throw new BenchmarkError(`The endpoint reported an error mid-stream: ${detail}`)
  }
  const parsed = ChunkSchema.safeParse(json)
  if (!parsed.success)
    throw new BenchmarkError(`Unexpected stream chunk: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
  return parsed.data
}
