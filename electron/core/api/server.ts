import Fastify, { type FastifyError, type FastifyInstance } from 'fastify'
import type { AddressInfo } from 'node:net'
import { openAiErrorBody } from '../../../shared/openai-error'
import { MeshworkError } from '../util/errors'
import type { Logger } from '../util/logger'
import type { AbortOptions, Startable } from '../util/startable'
import { discardBody } from './body-drain'
import { createGuard, hostsFor } from './guards'

export interface ApiServerInit {
  host: string
  port: number
  apiKey?: string
  maxBodyBytes: number
  /** Route registrations from the services (control, OpenAI, IPC, static, metrics). */
  routes: Array<(app: FastifyInstance) => void | Promise<void>>
}

export interface ApiServerComponents {
  logger: Logger
}

const DRAIN_TIMEOUT_MS = 30_000

/**
 * One HTTP server per peer: OpenAI API, dashboard API, metrics and the built dashboard.
 * Stopping is graceful: `beforeStop` stops taking connections (idle keep-alive ones close, a request
 * on a busy one gets a 503), `stop` lets the streams in flight finish until its signal aborts, and
 * only then cuts what is left.
 */
export class ApiServer implements Startable {
  readonly app: FastifyInstance
  private port = 0
  private closing?: Promise<void>

  constructor(
    private readonly components: ApiServerComponents,
    private readonly init: ApiServerInit
  ) {
    this.app = Fastify({ bodyLimit: init.maxBodyBytes, logger: false, forceCloseConnections: 'idle' })
    // an empty JSON body (e.g. POST /api/pause) means {}
    this.app.removeContentTypeParser('application/json')
    this.app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
      const text = body as string
      if (text.trim() === '') return done(null, {})
      try {
        done(null, JSON.parse(text))
      } catch {
        const err = new MeshworkError('The request body is not valid JSON', 'invalid_json', 400)
        done(err, undefined)
      }
    })
    // a keep-alive connection whose last response ended while closing would hold close() up
    this.app.addHook('onResponse', async () => {
      if (this.closing !== undefined) setImmediate(() => this.app.server.closeIdleConnections())
    })
    this.app.addHook(
      'onRequest',
      createGuard({ allowedHosts: () => hostsFor(init.host, this.port), apiKey: init.apiKey })
    )
    // an oversized body is read to its end (up to a bound) before the 413, or the client sees a reset
    const drainBytes = Math.max(64 * 1024 * 1024, 4 * init.maxBodyBytes)
    this.app.setErrorHandler(async (err: FastifyError | MeshworkError, request, reply) => {
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        await discardBody(request.raw, { maxBytes: drainBytes, signal: AbortSignal.timeout(DRAIN_TIMEOUT_MS) })
        const message = `The request body is larger than this node accepts (${request.routeOptions.bodyLimit ?? init.maxBodyBytes} bytes)`
        return reply.code(413).send(openAiErrorBody(413, 'request_too_large', message))
      }
      if (err instanceof MeshworkError) {
        if ('retryAfterSeconds' in err) reply.header('retry-after', String(err.retryAfterSeconds))
        return reply.code(err.status).send(openAiErrorBody(err.status, err.code, err.message))
      }
      const status = err.statusCode ?? 500
      if (status >= 500) components.logger.error('request failed', { err })
      const code = status >= 500 ? 'internal_error' : 'invalid_request'
      return reply.code(status).send(openAiErrorBody(status, code, err.message))
    })
    this.app.setNotFoundHandler((request, reply) => {
      const message = `No route ${request.method.slice(0, 16)} ${request.url.slice(0, 200)}`
      reply.code(404).send(openAiErrorBody(404, 'not_found', message))
    })
  }

  async start(): Promise<void> {
    for (const register of this.init.routes) await register(this.app)
    await this.app.listen({ host: this.init.host, port: this.init.port }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE') throw err
      throw new MeshworkError(
        `the API port ${this.init.host}:${this.init.port} is already in use (another Meshwork node, or the desktop app?): ` +
          'choose another with --api-port N, or --api-port 0 for any free port',
        'api_port_in_use',
        500,
        { cause: err }
      )
    })
    this.port = (this.app.server.address() as AddressInfo).port
  }

  async beforeStop(): Promise<void> {
    this.closing ??= this.app.close()
  }

  async stop(options: AbortOptions = {}): Promise<void> {
    const { signal } = options
    const cut = (): void => this.app.server.closeAllConnections()
    this.closing ??= this.app.close()
    // without a deadline nothing is waited for (tests, rollback of a failed start)
    if (signal === undefined || signal.aborted) cut()
    else signal.addEventListener('abort', cut, { once: true })
    try {
      await this.closing
    } finally {
      signal?.removeEventListener('abort', cut)
    }
  }

  get url(): string {
    const host = this.init.host.includes(':') ? `[${this.init.host}]` : this.init.host
    return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${this.port}`
  }
}
