import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { handleCompletion, type Services } from './completions'
import { notFound, WorkerError } from './errors'
import { bearerMatches, readJson, sendError, sendJson } from './http-util'
import { log } from './log'

export interface WorkerServerOptions {
  /** Per-launch token: every route but /health answers 401 without it. */
  token?: string
}

function route(
  services: Services,
  req: IncomingMessage,
  res: ServerResponse,
  options: WorkerServerOptions
): Promise<void> | void {
  const path = (req.url ?? '/').split('?')[0]
  const { engine, queue } = services
  if (
    options.token !== undefined &&
    !(req.method === 'GET' && path === '/health') &&
    !bearerMatches(req, options.token)
  ) {
    throw new WorkerError(
      401,
      'invalid_token',
      'This worker answers only its own node (Authorization: Bearer <launch token>)'
    )
  }
  if (req.method === 'GET' && path === '/health') {
    return sendJson(res, 200, {
      status: 'ok',
      models: [...engine.models.keys()],
      running: queue.active,
      queued: queue.queued,
      parallel: queue.parallel,
      maxQueue: queue.maxQueue
    })
  }
  if (req.method === 'GET' && path === '/v1/models') {
    return sendJson(res, 200, {
      object: 'list',
      data: [...engine.models.values()].map((m) => ({
        id: m.name,
        object: 'model',
        created: 0,
        owned_by: 'meshwork',
        context_length: m.contextSize
      }))
    })
  }
  if (path === '/v1/completions' || path === '/v1/chat/completions') {
    if (req.method !== 'POST')
      throw new WorkerError(405, 'method_not_allowed', `${req.method} is not allowed on ${path}; use POST`, {
        allow: 'POST'
      })
    return readJson(req).then((body) =>
      handleCompletion(services, path === '/v1/completions' ? 'text' : 'chat', req, res, body)
    )
  }
  throw notFound(`No route ${req.method} ${path}`)
}

/** The worker's OpenAI-compatible HTTP server (node:http, no framework: it runs in a bare container). */
export function createWorkerServer(services: Services, options: WorkerServerOptions = {}): Server {
  const server = createServer((req, res) => {
    Promise.resolve()
      .then(() => route(services, req, res, options))
      .catch((err) => {
        if (!(err instanceof WorkerError)) log.error('request failed', { url: req.url, error: (err as Error).message })
        sendError(res, err)
      })
  })
  server.keepAliveTimeout = 5_000
  server.headersTimeout = 30_000
  server.requestTimeout = 0 // long generations stream for minutes
  return server
}
