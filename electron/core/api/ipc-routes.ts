import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ServerResponse } from 'node:http'
import { IPC_ERRORS, MAX_IPC_ARGS_BYTES, type PushedEvent } from '../../../shared/ipc'
import type { NodeControl } from '../control'
import type { Logger } from '../util/logger'
import { createIpcDispatcher } from './ipc-dispatch'

export interface IpcRoutesOptions {
  logger?: Logger
  /** Interval of SSE heartbeat comments that keep proxies and the browser from timing out. */
  heartbeatMs?: number
  /** A slow SSE client is dropped once this much output waits in its socket buffer. */
  maxBufferedBytes?: number
}

/**
 * Serves the shared/ipc.ts contract over HTTP for the headless dashboard:
 * `POST /api/ipc/:channel` (JSON body = args, answer = result envelope) and
 * `GET /api/events` (SSE; one `data:` line per pushed event, heartbeat comments).
 */
export async function registerIpcRoutes(
  app: FastifyInstance,
  control: NodeControl,
  options: IpcRoutesOptions = {}
): Promise<void> {
  const dispatcher = createIpcDispatcher(control, { logger: options.logger })
  const heartbeatMs = options.heartbeatMs ?? 15_000
  const maxBuffered = options.maxBufferedBytes ?? 1024 * 1024
  const clients = new Set<ServerResponse>()

  app.post<{ Params: { channel: string } }>(
    '/api/ipc/:channel',
    { bodyLimit: MAX_IPC_ARGS_BYTES },
    async (request, reply) => {
      const refusal = refuseCrossSite(request)
      if (refusal !== undefined)
        return reply.code(403).send({ ok: false, error: { code: IPC_ERRORS.forbidden, message: refusal } })
      const { result, status } = await dispatcher.dispatch(request.params.channel, request.body ?? {})
      return reply.code(status).header('cache-control', 'no-store').send(result)
    }
  )

  app.get('/api/events', (request, reply) => {
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff'
    })
    res.write('retry: 2000\n: connected\n\n')
    clients.add(res)

    const send = (event: PushedEvent): void => {
      if (res.writableLength > maxBuffered) {
        options.logger?.warn('dropping a slow dashboard event stream')
        cleanup()
        res.destroy()
        return
      }
      res.write(`data: ${JSON.stringify(event)}\n\n`)
    }
    const unsubscribe = dispatcher.history.subscribe(send)
    const heartbeat = setInterval(() => res.write(': ping\n\n'), heartbeatMs)
    heartbeat.unref()
    function cleanup(): void {
      clearInterval(heartbeat)
      unsubscribe()
      clients.delete(res)
    }
    request.raw.on('close', cleanup)
    res.on('close', cleanup)
  })

  // Long-lived streams would keep app.close() waiting forever.
  app.addHook('preClose', async () => {
    for (const res of clients) res.end()
    clients.clear()
  })
}

/** Mutating calls need a JSON body and a same-origin (or absent) Origin: a foreign page cannot pause the node. */
function refuseCrossSite(request: FastifyRequest): string | undefined {
  const type = request.headers['content-type'] ?? ''
  if (!type.toLowerCase().startsWith('application/json')) return 'Dashboard calls need content-type: application/json'
  const origin = request.headers.origin
  if (origin === undefined) return undefined
  try {
    if (new URL(origin).host === request.headers.host) return undefined
  } catch {
    // fall through: an unparsable Origin is foreign
  }
  return `Cross-origin dashboard calls are refused (Origin ${origin.slice(0, 100)})`
}
