import { connect } from 'node:net'

export interface RawResponse {
  /** 0 when the connection closed or failed before a status line came. */
  status: number
  headers: Record<string, string>
  body: string
  /** Set when the socket failed (reset, refused) instead of closing cleanly. */
  error?: string
}

export interface RawRequest {
  method: string
  /** The request target exactly as sent: never normalised by a client library. */
  target: string
  headers?: Record<string, string>
  body?: string | Buffer
  timeoutMs?: number
}

/** One HTTP/1.1 request over a plain TCP socket, `Connection: close`, answer read to the end. */
export function rawRequest(port: number, request: RawRequest): Promise<RawResponse> {
  const headers: Record<string, string> = { host: `127.0.0.1:${port}`, connection: 'close', ...request.headers }
  if (request.body !== undefined && headers['content-length'] === undefined)
    headers['content-length'] = String(Buffer.byteLength(request.body))
  const head =
    `${request.method} ${request.target} HTTP/1.1\r\n` +
    Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('') +
    '\r\n'
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let error: string | undefined
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(head)
      if (request.body !== undefined) socket.write(request.body)
    })
    socket.setTimeout(request.timeoutMs ?? 10_000, () => {
      error = 'timeout'
      socket.destroy()
    })
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', (err) => (error = (err as NodeJS.ErrnoException).code ?? err.message))
    socket.on('close', () => resolve(parseResponse(Buffer.concat(chunks).toString('latin1'), error)))
  })
}

export function parseResponse(text: string, error?: string): RawResponse {
  const end = text.indexOf('\r\n\r\n')
  const head = end < 0 ? text : text.slice(0, end)
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(head)
  const headers: Record<string, string> = {}
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':')
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  let body = end < 0 ? '' : text.slice(end + 4)
  if (headers['transfer-encoding'] === 'chunked') body = dechunk(body)
  return { status: match ? Number(match[1]) : 0, headers, body, error }
}

function dechunk(text: string): string {
  let out = ''
  let at = 0
  for (;;) {
    const lineEnd = text.indexOf('\r\n', at)
    if (lineEnd < 0) return out
    const size = parseInt(text.slice(at, lineEnd), 16)
    if (!(size > 0)) return out
    out += text.slice(lineEnd + 2, lineEnd + 2 + size)
    at = lineEnd + 2 + size + 2
  }
}
