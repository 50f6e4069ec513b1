import { InferError } from '../../../../shared/infer-error'
import type { AbortOptions } from '../../util/startable'

/** Largest single server-sent event accepted from a runtime. */
export const MAX_SSE_EVENT_CHARS = 4 * 1024 * 1024

/**
 * Yields the `data:` payloads of the server-sent events that each read of `body` completes, as one
 * batch per read, so a caller can merge what is already waiting. `[DONE]` is passed through.
 * A broken body throws `runtime_stream_broken`; an event over the bound `sse_event_too_large`.
 */
export async function* sseBatches(
  body: AsyncIterable<Uint8Array>,
  options: AbortOptions & { maxEventChars?: number } = {}
): AsyncGenerator<string[]> {
  const max = options.maxEventChars ?? MAX_SSE_EVENT_CHARS
  const decoder = new TextDecoder()
  // a Node stream's iterator hands over everything buffered at each read, so events that
  // arrived together come out as one batch
  const reader = body[Symbol.asyncIterator]()
  let buffer = ''
  try {
    for (;;) {
      let result: IteratorResult<Uint8Array>
      try {
        result = await reader.next()
      } catch (err) {
        if (options.signal?.aborted) throw options.signal.reason
        throw new InferError('runtime_stream_broken', `runtime stream broke: ${(err as Error).message}`, 502, {
          cause: err
        })
      }
      if (result.done) break
      buffer += decoder.decode(result.value, { stream: true })
      const batch: string[] = []
      const separator = /\r?\n\r?\n/g
      let consumed = 0
      let match: RegExpExecArray | null
      while ((match = separator.exec(buffer)) !== null) {
        const data = dataOf(buffer.slice(consumed, match.index))
        consumed = match.index + match[0].length
        if (data !== '') batch.push(data)
      }
      buffer = buffer.slice(consumed)
      if (batch.length > 0) yield batch
      if (buffer.length > max)
        throw new InferError('sse_event_too_large', `runtime sent an event over ${max} characters`)
    }
  } finally {
    // stops the body (a Node stream is destroyed) when the caller leaves early
    await reader.return?.().catch(() => {})
  }
}

function dataOf(event: string): string {
  return event
    .split(/\r?\n/)
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).replace(/^ /, ''))
    .join('\n')
}
