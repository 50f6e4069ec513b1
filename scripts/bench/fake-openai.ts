// A minimal OpenAI-compatible server for benches that measure the mesh, not a model: it streams
// `tokens` fixed words at `tokenGapMs` apart, so two cores can carry hundreds of streams. Nodes use
// it through `--runtime external --endpoint`. A hook may hold a generation (never answer) to let the
// bench kill the provider between request and first token.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

export interface FakeOpenAI {
  url: string
  /** Generations this server has started. */
  generations: number
  /** When set, every answer is random words: a provider that lies about what its model says. */
  lie: boolean
  /** Called on each generation request; returning 'hold' leaves the request unanswered. */
  onGeneration?: () => 'hold' | 'serve'
  close(): Promise<void>
}

export interface FakeOptions {
  model: string
  /** Delay between streamed tokens (0: as fast as the socket takes them). */
  tokenGapMs?: number
}

const MAX_BODY = 1 << 20

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

export async function startFakeOpenAI(options: FakeOptions): Promise<FakeOpenAI> {
  const gap = options.tokenGapMs ?? 0
  const sockets = new Set<Socket>()
  const fake: FakeOpenAI = { url: '', generations: 0, lie: false, close: async () => undefined }

  async function generate(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    const chat = req.url?.startsWith('/v1/chat/') ?? false
    const body = JSON.parse(raw) as { max_tokens?: number; stream?: boolean }
    const n = Math.max(1, Math.min(body.max_tokens ?? 16, 4096))
    fake.generations++
    if (fake.onGeneration?.() === 'hold') return
    const usage = { prompt_tokens: 4, completion_tokens: n, total_tokens: 4 + n }
    const piece = (i: number): string => (fake.lie ? ` ${Math.random().toString(36).slice(2, 7)}` : ` w${i}`)
    if (!body.stream) {
      const text = Array.from({ length: n }, (_, i) => piece(i)).join('')
      const choice = chat ? { index: 0, message: { role: 'assistant', content: text } } : { index: 0, text }
      send(res, 200, {
        id: 'fake',
        object: 'text_completion',
        choices: [{ ...choice, finish_reason: 'length' }],
        usage
      })
      return
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    for (let i = 0; i < n; i++) {
      if (res.destroyed) return
      const choice = chat ? { index: 0, delta: { content: piece(i) } } : { index: 0, text: piece(i) }
      res.write(`data: ${JSON.stringify({ id: 'fake', choices: [{ ...choice, finish_reason: null }] })}\n\n`)
      if (gap > 0) await new Promise((r) => setTimeout(r, gap))
    }
    const last = chat ? { index: 0, delta: {} } : { index: 0, text: '' }
    res.write(`data: ${JSON.stringify({ id: 'fake', choices: [{ ...last, finish_reason: 'length' }], usage })}\n\n`)
    res.end('data: [DONE]\n\n')
  }

  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health') return send(res, 200, { status: 'ok' })
    if (req.method === 'GET' && req.url === '/v1/models')
      return send(res, 200, { object: 'list', data: [{ id: options.model, object: 'model' }] })
    if (req.method !== 'POST' || !/^\/v1\/(chat\/)?completions$/.test(req.url ?? ''))
      return send(res, 404, { error: { message: 'not found' } })
    let raw = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => {
      raw += c
      if (raw.length > MAX_BODY) req.destroy()
    })
    req.on('end', () => {
      generate(req, res, raw).catch((err: Error) => {
        if (!res.headersSent) send(res, 400, { error: { message: err.message } })
        else res.destroy()
      })
    })
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  fake.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  fake.close = async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return fake
}
