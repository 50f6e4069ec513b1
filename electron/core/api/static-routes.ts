import type { FastifyInstance, FastifyReply } from 'fastify'
import { readFile, stat } from 'node:fs/promises'
import { extname, resolve, sep } from 'node:path'

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

/** Serves the built renderer at `/` (headless dashboard): index.html fallback, content types, no traversal. */
export async function registerStaticRoutes(app: FastifyInstance, rendererDir: string): Promise<void> {
  const root = resolve(rendererDir)

  app.get('/*', async (request, reply) => {
    const path = new URL(request.url, 'http://x').pathname
    if (API_PREFIXES.some((p) => path === p.replace(/\/$/, '') || path.startsWith(p))) {
      return reply.code(404).send({ error: { message: `No route ${path}`, type: 'invalid_request_error', code: 'not_found' } })
    }
    let relative: string
    try {
      relative = decodeURIComponent(path)
    } catch {
      return reply.code(400).send({ error: { message: 'Malformed path', type: 'invalid_request_error', code: 'bad_path' } })
    }
    if (relative.includes('\0')) return reply.code(400).send({ error: { message: 'Malformed path', type: 'invalid_request_error', code: 'bad_path' } })
    const file = resolve(root, '.' + (relative.endsWith('/') ? relative + 'index.html' : relative))
    if (file !== root && !file.startsWith(root + sep)) {
      return reply.code(404).send({ error: { message: 'Not found', type: 'invalid_request_error', code: 'not_found' } })
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
    return reply.code(404).send({ error: { message: 'Not found', type: 'invalid_request_error', code: 'not_found' } })
  })
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
