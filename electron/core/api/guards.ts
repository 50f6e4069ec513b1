import type { FastifyReply, FastifyRequest } from 'fastify'
import { timingSafeEqual } from 'node:crypto'
import { isLoopback } from '../config'

export interface GuardOptions {
  /** host:port values a request may name in its Host header (DNS-rebinding guard); undefined = any */
  allowedHosts: () => Set<string> | undefined
  apiKey?: string
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export function openAiError(reply: FastifyReply, status: number, code: string, message: string, type = 'invalid_request_error'): FastifyReply {
  return reply.code(status).send({ error: { message, type, code } })
}

function keyMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * Browser safety on loopback: a page on another origin must not reach the node through DNS
 * rebinding (Host check) nor make it act (JSON-only, same-origin mutations). No CORS headers are sent.
 */
export function createGuard(options: GuardOptions) {
  return async function guard(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const host = request.headers.host?.toLowerCase()
    const allowed = options.allowedHosts()
    if (host === undefined || (allowed !== undefined && !allowed.has(host))) {
      await openAiError(reply, 403, 'forbidden_host', `Host '${host ?? ''}' is not this node`)
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
        await openAiError(reply, 403, 'forbidden_origin', `Origin '${origin}' may not call this node`)
        return reply
      }
    }
    if (options.apiKey !== undefined && needsAuth(request.url)) {
      const header = request.headers.authorization ?? ''
      const given = header.startsWith('Bearer ') ? header.slice(7) : ''
      if (!keyMatches(given, options.apiKey)) {
        await openAiError(reply, 401, 'invalid_api_key', 'Missing or wrong API key (Authorization: Bearer <key>)', 'authentication_error')
        return reply
      }
    }
  }
}

function needsAuth(url: string): boolean {
  return url.startsWith('/v1/') || url.startsWith('/api/') || url.startsWith('/metrics')
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
