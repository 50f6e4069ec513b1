import type { FastifyReply, FastifyRequest } from 'fastify'
import { timingSafeEqual } from 'node:crypto'
import { openAiErrorBody } from '../../../shared/openai-error'
import { isLoopback } from '../config'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without the API key (the dashboard's static files only). Every other route needs it. */
    public?: boolean
  }
}

export interface GuardOptions {
  /** host:port values a request may name in its Host header (DNS-rebinding guard); undefined = any */
  allowedHosts: () => Set<string> | undefined
  apiKey?: string
}

/** Route options for a route that needs no API key. */
export const PUBLIC_ROUTE = { config: { public: true } } as const

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export function openAiError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).send(openAiErrorBody(status, code, message))
}

function keyMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** The bearer token of a request, or '' when it names none. */
export function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization ?? ''
  return /^Bearer /i.test(header) ? header.slice(7).trim() : ''
}

/**
 * Runs as an onRequest hook, which fastify calls after routing: the key check decides on the route
 * fastify matched (its config), never on the raw target, so encoded, doubled-slash, dot-segment and
 * absolute-form targets cannot reach a handler the raw text did not look like. Deny by default:
 * every route needs the key unless it is marked public, and so does the not-found handler.
 *
 * Browser safety on loopback: a page on another origin must not reach the node through DNS
 * rebinding (Host check) nor make it act (JSON-only, same-origin mutations). No CORS headers are sent.
 */
export function createGuard(options: GuardOptions) {
  return async function guard(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const host = request.headers.host?.toLowerCase()
    const allowed = options.allowedHosts()
    if (host === undefined || (allowed !== undefined && !allowed.has(host))) {
      await openAiError(reply, 403, 'forbidden_host', `Host '${(host ?? '').slice(0, 100)}' is not this node`)
      return reply
    }
    if (
      options.apiKey !== undefined &&
      request.routeOptions.config?.public !== true &&
      !keyMatches(bearerToken(request), options.apiKey)
    ) {
      await openAiError(reply, 401, 'invalid_api_key', 'Missing or wrong API key (Authorization: Bearer <key>)')
      return reply
    }
    if (MUTATING.has(request.method)) {
      const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase()
      if (type !== 'application/json') {
        await openAiError(reply, 415, 'unsupported_media_type', 'Requests that change state must be application/json')
        return reply
      }
      const origin = request.headers.origin
      if (origin !== undefined && origin.toLowerCase() !== `http://${host}`) {
        await openAiError(reply, 403, 'forbidden_origin', `Origin '${origin.slice(0, 100)}' may not call this node`)
        return reply
      }
    }
  }
}

/**
 * The Host values a loopback-bound node answers to. A node bound elsewhere requires an API key,
 * which is what protects it there, so any Host is accepted.
 */
export function hostsFor(apiHost: string, port: number): Set<string> | undefined {
  if (!isLoopback(apiHost)) return undefined
  const names = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${apiHost.toLowerCase()}:${port}`])
  return names
}
