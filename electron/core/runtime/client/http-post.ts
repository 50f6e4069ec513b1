import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { AbortOptions } from '../../util/startable'

/**
 * Connections to runtimes stay open between jobs. node:http rather than fetch: fetch cost about
 * 0.2 ms more CPU and latency per call to a local runtime, on every routed request.
 */
const agents = {
  'http:': new HttpAgent({ keepAlive: true, maxSockets: 256 }),
  'https:': new HttpsAgent({ keepAlive: true, maxSockets: 256 })
}

/** The longest a runtime may stay silent, before its answer or within it (fetch's own bound). */
export const RUNTIME_SILENCE_MS = 300_000

export interface PostOptions extends AbortOptions {
  /** Fail the call when the connection carries nothing for this long (default RUNTIME_SILENCE_MS). */
  silenceMs?: number
}

/**
 * POSTs `body` and resolves with the response once its headers arrive; the caller reads or destroys
 * it. A call that fails on a kept-alive connection before any answer (the runtime closed it while it
 * idled) is sent once more on a new one, as a fresh connection would have been used without the pool.
 */
export async function postStream(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: PostOptions = {}
): Promise<IncomingMessage> {
  try {
    return await postOnce(url, body, headers, options, false)
  } catch (err) {
    const { reusedSocket, code } = err as { reusedSocket?: boolean; code?: string }
    if (!reusedSocket || (code !== 'ECONNRESET' && code !== 'EPIPE') || options.signal?.aborted) throw err
    return postOnce(url, body, headers, options, true)
  }
}

function postOnce(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: PostOptions,
  freshSocket: boolean
): Promise<IncomingMessage> {
  const target = new URL(url)
  const protocol = target.protocol === 'https:' ? 'https:' : 'http:'
  const send = protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: 'POST',
        // a retry takes a socket of its own: the pool may hold more that the runtime closed
        agent: freshSocket ? false : agents[protocol],
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        signal: options.signal
      },
      resolve
    )
    req.on('error', (err) => reject(Object.assign(err, { reusedSocket: req.reusedSocket })))
    const silenceMs = options.silenceMs ?? RUNTIME_SILENCE_MS
    // destroys the request and its response: a wait for headers rejects, a body being read throws
    req.setTimeout(silenceMs, () => req.destroy(new Error(`the runtime sent nothing for ${silenceMs} ms`)))
    req.end(body)
  })
}

/** Up to `maxChars` of a response body as text; the rest is not read. */
export async function readText(response: IncomingMessage, maxChars: number): Promise<string> {
  let text = ''
  response.setEncoding('utf8')
  try {
    for await (const chunk of response as AsyncIterable<string>) {
      text += chunk
      if (text.length >= maxChars) break
    }
  } catch {
    // a broken error body: keep what came
  }
  response.destroy()
  return text.slice(0, maxChars)
}
