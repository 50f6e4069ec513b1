import type { IncomingMessage } from 'node:http'

export interface DiscardOptions {
  /** Stop reading (and let the connection close) past this many bytes. */
  maxBytes: number
  signal?: AbortSignal
}

/**
 * Reads and throws away the rest of a request body, so an error answer (413) reaches a client that
 * is still sending instead of a reset connection. Resolves true once the body ended, false when it
 * was longer than maxBytes, the client went away or the signal fired (then the caller closes).
 */
export function discardBody(request: IncomingMessage, options: DiscardOptions): Promise<boolean> {
  if (request.complete || request.readableEnded) return Promise.resolve(true)
  if (request.destroyed || options.signal?.aborted === true) return Promise.resolve(false)
  return new Promise((resolve) => {
    let seen = 0
    const finish = (ended: boolean): void => {
      request.off('data', onData)
      request.off('end', onEnd)
      request.off('close', onClose)
      request.off('error', onClose)
      options.signal?.removeEventListener('abort', onClose)
      if (!ended) request.pause()
      resolve(ended)
    }
    const onData = (chunk: Buffer): void => {
      seen += chunk.length
      if (seen > options.maxBytes) finish(false)
    }
    const onEnd = (): void => finish(true)
    const onClose = (): void => finish(request.complete)
    request.on('data', onData)
    request.on('end', onEnd)
    request.on('close', onClose)
    request.on('error', onClose)
    options.signal?.addEventListener('abort', onClose, { once: true })
    request.resume()
  })
}
