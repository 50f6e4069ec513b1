import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { type RuntimeEvent, streamCompletion } from '../../../electron/core/runtime/client/runtime-client'
import type { InferBody } from '../../../shared/infer'

const call: InferBody = { api: 'completions', body: { model: 'm', prompt: 'x', max_tokens: 2 } }

const chunk = (text: string, id: number) => `data: ${JSON.stringify({ choices: [{ text, token_ids: [id] }] })}\n\n`
const finish = `data: ${JSON.stringify({ choices: [{ text: '', finish_reason: 'stop' }] })}\n\n`

type Handler = (req: IncomingMessage, res: ServerResponse, nth: { onSocket: number }) => void

const servers: Server[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  }
})

/** A runtime on 127.0.0.1; counts the connections it accepted and each one's requests. */
async function runtime(handler: Handler): Promise<{ url: string; connections: () => number }> {
  let connections = 0
  const perSocket = new WeakMap<Socket, number>()
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      const onSocket = (perSocket.get(req.socket) ?? 0) + 1
      perSocket.set(req.socket, onSocket)
      handler(req, res, { onSocket })
    })
  })
  server.on('connection', () => connections++)
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections }
}

function sse(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' })
}

async function collect(url: string, signal?: AbortSignal): Promise<RuntimeEvent[]> {
  const events: RuntimeEvent[] = []
  for await (const event of streamCompletion(url, call, { signal })) events.push(event)
  return events
}

describe('runtime client', () => {
  it('streams deltas and a final event, and keeps one connection for the next job', async () => {
    const rt = await runtime((_req, res) => {
      sse(res)
      res.end(chunk(' a', 1) + chunk(' b', 2) + finish + 'data: [DONE]\n\n')
    })
    for (let i = 0; i < 3; i++) {
      const events = await collect(rt.url)
      expect(events.at(-1)).toEqual({ type: 'final', finishReason: 'stop' })
      const deltas = events.filter((e) => e.type === 'delta')
      expect(deltas.map((d) => d.text).join('')).toBe(' a b')
      expect(deltas.flatMap((d) => d.tokenIds)).toEqual([1, 2])
    }
    expect(rt.connections()).toBe(1)
  })

  it('sends a job again on a new connection when the runtime closed the idle one it went out on', async () => {
    // the runtime drops a kept-alive connection when the next request arrives on it, unanswered
    const rt = await runtime((req, res, { onSocket }) => {
      if (onSocket > 1) return void req.socket.destroy()
      sse(res)
      res.end(finish + 'data: [DONE]\n\n')
    })
    await collect(rt.url)
    const events = await collect(rt.url)
    expect(events.at(-1)).toMatchObject({ type: 'final', finishReason: 'stop' })
    expect(rt.connections()).toBe(2)
  })

  it('ends a job at [DONE] even when the runtime leaves the body open', async () => {
    const rt = await runtime((_req, res) => {
      sse(res)
      res.write(chunk(' a', 1) + finish + 'data: [DONE]\n\n') // and never ends
    })
    const events = await collect(rt.url, AbortSignal.timeout(5_000))
    expect(events.at(-1)).toEqual({ type: 'final', finishReason: 'stop' })
  })

  it('names a runtime that does not answer, refuses, fails, or breaks its stream', async () => {
    const rt = await runtime((_req, res) => {
      sse(res)
      res.write(chunk(' a', 1))
      setTimeout(() => res.socket?.destroy(), 20) // cut mid-stream
    })
    await expect(collect(rt.url)).rejects.toMatchObject({ code: 'runtime_stream_broken' })

    const closed = createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const port = (closed.address() as AddressInfo).port
    await new Promise((r) => closed.close(r))
    await expect(collect(`http://127.0.0.1:${port}`)).rejects.toMatchObject({
      code: 'runtime_unreachable',
      status: 503
    })
  })

  it('fails a call when the runtime falls silent, before its answer or within it', async () => {
    const mute = await runtime(() => {}) // never answers
    const stalled = await runtime((_req, res) => {
      sse(res)
      res.write(chunk(' a', 1)) // then nothing, the body left open
    })
    const drain = async (url: string) => {
      for await (const _ of streamCompletion(url, call, { silenceMs: 200 })) void _
    }
    const started = Date.now()
    await expect(drain(mute.url)).rejects.toMatchObject({ code: 'runtime_unreachable' })
    await expect(drain(stalled.url)).rejects.toMatchObject({ code: 'runtime_stream_broken' })
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('keeps the meaning of a refusal and bounds what an error body can say', async () => {
    const statuses = [429, 503, 500, 400]
    let next = 0
    const rt = await runtime((_req, res) => {
      const status = statuses[next++]
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: { message: 'no: ' + 'x'.repeat(5_000) } }))
    })
    const codes = []
    for (let i = 0; i < statuses.length; i++) {
      const err = (await collect(rt.url).catch((e: unknown) => e)) as { code: string; status: number; message: string }
      expect(err.message.length).toBeLessThanOrEqual(2048)
      expect(err.message).toContain(`runtime answered ${statuses[i]}: no: xxx`)
      codes.push([err.code, err.status])
    }
    expect(codes).toEqual([
      ['provider_busy', 429],
      ['runtime_unavailable', 503],
      ['runtime_error', 500],
      ['runtime_rejected', 400]
    ])
  })

  it('stops at an event over the size bound, and at the caller’s abort', async () => {
    const rt = await runtime((_req, res) => {
      sse(res)
      res.write(chunk(' a', 1))
      const huge = 'data: ' + 'y'.repeat(1 << 20)
      let sent = 0
      const more = (): void => {
        if (res.destroyed || sent++ > 6) return
        res.write(huge, more)
      }
      more()
    })
    await expect(collect(rt.url)).rejects.toMatchObject({ code: 'sse_event_too_large' })

    const controller = new AbortController()
    const events: RuntimeEvent[] = []
    const reason = new Error('caller left')
    const run = (async () => {
      for await (const event of streamCompletion(rt.url, call, { signal: controller.signal })) {
        events.push(event)
        controller.abort(reason)
      }
    })()
    await expect(run).rejects.toBe(reason)
    expect(events).toHaveLength(1)
  })
})
