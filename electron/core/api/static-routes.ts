import type { FastifyInstance, FastifyReply } from 'fastify'
import { readFile, stat } from 'node:fs/promises'
import { extname, posix, resolve, sep } from 'node:path'
import { openAiErrorBody } from '../../../shared/openai-error'
import { PUBLIC_ROUTE } from './guards'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8'
}

/** Same policy as the meta tag in renderer/index.html, plus what only a header can say. */
export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** Paths that belong to the API; they never fall back to the dashboard page. */
const API_PREFIXES = ['/api/', '/v1/', '/metrics']

/**
 * Serves the built renderer at `/` (headless dashboard): index.html fallback, content types, no traversal.
 * It is the one public route (no API key), so it answers only for paths that, decoded and normalised,
 * do not name the API.
 */
export async function registerStaticRoutes(app: FastifyInstance, rendererDir: string): Promise<void> {
  const root = resolve(rendererDir)

  app.get('/*', PUBLIC_ROUTE, async (request, reply) => {
    const relative = dashboardPath(request.url)
    if (relative === undefined) return reply.code(400).send(openAiErrorBody(400, 'bad_path', 'Malformed path'))
    if (isApiPath(relative)) {
      return reply.code(404).send(openAiErrorBody(404, 'not_found', 'Not found'))
    }
    const file = resolve(root, '.' + (relative.endsWith('/') ? relative + 'index.html' : relative))
    if (file !== root && !file.startsWith(root + sep)) {
      return reply.code(404).send(openAiErrorBody(404, 'not_found', 'Not found'))
    }
    if (await isFile(file)) return sendFile(reply, file, relative.startsWith('/assets/'))
    // Client-side pages (no extension) get the app shell; missing assets get a real 404.
    if (extname(relative) === '') {
      const index = resolve(root, 'index.html')
      if (await isFile(index)) return sendFile(reply, index, false)
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The dashboard is not built. Run `npm run build`, then restart the node.')
    }
    return reply.code(404).send(openAiErrorBody(404, 'not_found', 'Not found'))
  })
}

/**
 * The request target as a clean absolute path: query dropped, absolute-form reduced to its path,
 * percent-decoded, doubled slashes collapsed, dot segments resolved. undefined when malformed.
 */
export function dashboardPath(target: string): string | undefined {
  let path = target.split('?')[0].split('#')[0]
  if (!path.startsWith('/')) {
    try {
      path = /^[a-z][a-z0-9+.-]*:\/\//i.test(path) ? new URL(path).pathname : '/'
    } catch {
      return undefined
    }
  }
  let decoded: string
  try {
    decoded = decodeURIComponent(path)
  } catch {
    return undefined
  }
  if (decoded.includes('\0')) return undefined
  const clean = posix.normalize(decoded.replace(/\\/g, '/').replace(/\/{2,}/g, '/'))
  return clean.startsWith('/') ? clean : '/' + clean
}

/** Whether a clean path names the API (any case): such paths never get the dashboard. */
export function isApiPath(path: string): boolean {
  const lower = path.toLowerCase()
  return API_PREFIXES.some((p) => lower === p.replace(/\/$/, '') || lower.startsWith(p))
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile()
  } catch {
    return false
  }
}

async function sendFile(reply: FastifyReply, file: string, immutable: boolean): Promise<FastifyReply> {
  const ext = extname(file).toLowerCase()
  const body = await readFile(file)
  reply
    .type(TYPES[ext] ?? 'application/octet-stream')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
  if (ext === '.html') reply.header('content-security-policy', DASHBOARD_CSP).header('x-frame-options', 'DENY')
  return reply.send(body)
}
