import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { handleCompletion, type Services } from './completions'
import { notFound, WorkerError } from './errors'
import { readJson, sendError, sendJson } from './http-util'
import { log } from './log'

function route(services: Services, req: IncomingMessage, res: ServerResponse): Promise<void> | void {
  const path = (req.url ?? '/').split('?')[0]
  const { engine, queue } = services
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
      data: [...engine.models.values()].map((m) => ({ id: m.name, object: 'model', created: 0, owned_by: 'meshwork', context_length: m.contextSize }))
    })
  }
  if (path === '/v1/completions' || path === '/v1/chat/completions') {
    if (req.method !== 'POST') throw new WorkerError(405, 'method_not_allowed', `${req.method} is not allowed on ${path}; use POST`, { allow: 'POST' })
    return readJson(req).then((body) => handleCompletion(services, path === '/v1/completions' ? 'text' : 'chat', req, res, body))
  }
  throw notFound(`No route ${req.method} ${path}`)
}

/** The worker's OpenAI-compatible HTTP server (node:http, no framework: it runs in a bare container). */
export function createWorkerServer(services: Services): Server {
  const server = createServer((req, res) => {
    Promise.resolve()
      .then(() => route(services, req, res))
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
