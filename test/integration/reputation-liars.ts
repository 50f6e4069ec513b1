import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http'

/** How a lying runtime endpoint treats generation requests (everything else passes through). */
export type LieMode = 'honest' | 'slow' | 'garbage' | 'drop'

export interface LyingEndpoint {
  url: string
  mode: LieMode
  close(): Promise<void>
}

/** Only chat answers lie: the node's own benchmark (plain completions) sees an honest, fast runtime. */
const GENERATION = /^\/v1\/chat\/completions/

/**
 * An OpenAI-compatible endpoint in front of a real worker that lies to chat requests in one way: `slow`
 * delays every streamed event (its advert, from the honest benchmark, claims ~10× its real speed),
 * `garbage` answers fast with random text and token ids, `drop` cuts every stream halfway.
 */
export async function lyingEndpoint(upstream: string, mode: LieMode, slowDelayMs = 150): Promise<LyingEndpoint> {
  const state = { mode }
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => forward(req, Buffer.concat(chunks), res))
  })
  const sockets = new Set<import('node:net').Socket>()
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })

  function forward(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const up = httpRequest(
      upstream + req.url,
      { method: req.method, headers: { ...req.headers, host: new URL(upstream).host } },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers)
        if (!GENERATION.test(req.url ?? '') || state.mode === 'honest' || upRes.statusCode !== 200) {
          upRes.pipe(res)
          return
        }
        relayEvents(upRes, res).catch(() => res.destroy())
      }
    )
    up.on('error', () => res.destroy())
    up.end(body)
  }

  async function relayEvents(upRes: IncomingMessage, res: ServerResponse): Promise<void> {
    let buffer = ''
    let events = 0
    for await (const chunk of upRes) {
      buffer += (chunk as Buffer).toString()
      const parts = buffer.split('\n\n')
      buffer = parts.pop() ?? ''
      for (const part of parts) {
        events++
        if (state.mode === 'drop' && events > 12) {
          res.destroy()
          upRes.destroy()
          return
        }
        if (state.mode === 'slow') await new Promise((r) => setTimeout(r, slowDelayMs))
        res.write((state.mode === 'garbage' ? scramble(part) : part) + '\n\n')
      }
    }
    res.end(buffer)
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    get mode() {
      return state.mode
    },
    set mode(m: LieMode) {
      state.mode = m
    },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

/** Random letters and token ids in place of the model's, keeping the event's shape. */
function scramble(event: string): string {
  if (!event.startsWith('data: ') || event === 'data: [DONE]') return event
  try {
    const chunk = JSON.parse(event.slice(6)) as {
      choices?: Array<{ text?: string; delta?: { content?: string }; token_ids?: number[] }>
    }
    for (const c of chunk.choices ?? []) {
      if (typeof c.text === 'string' && c.text !== '') c.text = noise(c.text.length)
      if (c.delta && typeof c.delta.content === 'string' && c.delta.content !== '')
        c.delta.content = noise(c.delta.content.length)
      if (Array.isArray(c.token_ids)) c.token_ids = c.token_ids.map(() => 3 + Math.floor(Math.random() * 250))
    }
    return 'data: ' + JSON.stringify(chunk)
  } catch {
    return event
  }
}

function noise(n: number): string {
  return Array.from({ length: Math.max(1, n) }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('')
}
