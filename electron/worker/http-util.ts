import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { badRequest, errorBody, tooLarge, WorkerError } from './errors'

export const BODY_LIMIT = 4 * 1024 * 1024

/** Reads and parses a JSON body of at most `limit` bytes (413 beyond, 400 if not JSON). */
export async function readJson(req: IncomingMessage, limit = BODY_LIMIT): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) {
    req.resume() // drain so the 413 reaches the client
    throw tooLarge(limit)
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) {
      req.resume()
      throw tooLarge(limit)
    }
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') throw badRequest('The request body is empty; expected JSON', 'invalid_json')
  try {
    return JSON.parse(text)
  } catch (err) {
    throw badRequest(`The request body is not valid JSON: ${(err as Error).message}`, 'invalid_json')
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {}
): void {
  const payload = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...headers
  })
  res.end(payload)
}

export function sendError(res: ServerResponse, err: unknown): void {
  const error =
    err instanceof WorkerError ? err : new WorkerError(500, 'internal_error', (err as Error)?.message ?? String(err))
  if (res.headersSent) {
    // mid-stream: report in-band, then end the stream
    if (!res.writableEnded) res.end(`data: ${JSON.stringify(errorBody(error))}\n\n`)
    return
  }
  sendJson(res, error.status, errorBody(error), error.headers)
}

/**
 * Server-sent events with back-pressure: `send` resolves once the socket took the data. The status
 * and headers leave with the first event, in the same write: one read less at the reader, and an
 * error before any event still gets its HTTP status.
 */
export class SseWriter {
  constructor(private readonly res: ServerResponse) {}

  private head(): void {
    if (this.res.headersSent) return
    this.res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no'
    })
  }

  async send(data: unknown): Promise<void> {
    await this.write(`data: ${JSON.stringify(data)}\n\n`)
  }

  /**
   * The last events, `[DONE]` and the body's end in one write: the reader gets them in one read, so
   * it sees the body complete at `[DONE]` (and keeps the connection for its next request).
   */
  end(last: unknown[]): void {
    if (this.res.destroyed || this.res.writableEnded) return
    this.head()
    // one string through end(): cork() around separate writes put the chunked body's terminator first
    this.res.end(last.map((data) => `data: ${JSON.stringify(data)}\n\n`).join('') + 'data: [DONE]\n\n')
  }

  private async write(text: string): Promise<void> {
    if (this.res.destroyed || this.res.writableEnded) return
    this.head()
    if (this.res.write(text)) return
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.res.off('drain', done)
        this.res.off('close', done)
        resolve()
      }
      this.res.on('drain', done)
      this.res.on('close', done)
    })
  }
}

/** Aborts when the client goes away before the response finished. */
export function disconnectSignal(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const controller = new AbortController()
  res.on('close', () => {
    if (!res.writableFinished) controller.abort(new Error('client disconnected'))
  })
  req.on('aborted', () => controller.abort(new Error('client disconnected')))
  return controller.signal
}

/** Whether the request carries `Authorization: Bearer <token>` (compared in constant time). */
export function bearerMatches(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? ''
  const given = Buffer.from(/^Bearer /i.test(header) ? header.slice(7).trim() : '')
  const expected = Buffer.from(token)
  return given.length === expected.length && timingSafeEqual(given, expected)
}
