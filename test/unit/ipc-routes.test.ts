import Fastify, { type FastifyInstance } from 'fastify'
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { eventHistoryFor } from '../../electron/core/api/event-history'
import { registerIpcRoutes } from '../../electron/core/api/ipc-routes'
import { registerStaticRoutes } from '../../electron/core/api/static-routes'
import { createFixtureControl, fixturePeer } from '../fixtures/dashboard/control'

const apps: FastifyInstance[] = []
const dirs: string[] = []
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function makeApp(control = createFixtureControl({ peers: [fixturePeer('12D3KooWPeerB')] })) {
  const app = Fastify()
  apps.push(app)
  await registerIpcRoutes(app, control, { heartbeatMs: 50 })
  return { app, control }
}

const json = { 'content-type': 'application/json' }

describe('POST /api/ipc/:channel', () => {
  it('serves the contract with result envelopes', async () => {
    const { app } = await makeApp()
    const status = await app.inject({ method: 'POST', url: '/api/ipc/status:get', headers: json, payload: {} })
    expect(status.statusCode).toBe(200)
    expect(status.json()).toMatchObject({ ok: true, value: { paused: false } })
    const peers = await app.inject({
      method: 'POST',
      url: '/api/ipc/peers:list',
      headers: json,
      payload: { all: true }
    })
    expect(peers.json().value.peers[0].peerId).toBe('12D3KooWPeerB')
    const paused = await app.inject({ method: 'POST', url: '/api/ipc/earning:pause', headers: json, payload: {} })
    expect(paused.json()).toMatchObject({ ok: true, value: { paused: true } })
  })

  it('answers 400 envelopes for unknown channels and bad payloads', async () => {
    const { app } = await makeApp()
    const unknown = await app.inject({ method: 'POST', url: '/api/ipc/node:shutdown', headers: json, payload: {} })
    expect(unknown.statusCode).toBe(400)
    expect(unknown.json()).toEqual({
      ok: false,
      error: { code: 'unknown_channel', message: expect.stringContaining('node:shutdown') }
    })
    const bad = await app.inject({ method: 'POST', url: '/api/ipc/peers:list', headers: json, payload: { all: 1 } })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error.code).toBe('invalid_args')
  })

  it('refuses cross-site and non-JSON calls', async () => {
    const { app, control } = await makeApp()
    const foreign = await app.inject({
      method: 'POST',
      url: '/api/ipc/earning:pause',
      headers: { ...json, origin: 'https://evil.example', host: '127.0.0.1:8080' },
      payload: {}
    })
    expect(foreign.statusCode).toBe(403)
    const form = await app.inject({
      method: 'POST',
      url: '/api/ipc/earning:pause',
      headers: { 'content-type': 'text/plain' },
      payload: '{}'
    })
    expect(form.statusCode).toBeGreaterThanOrEqual(400)
    expect(control.state.status.paused).toBe(false)
    const same = await app.inject({
      method: 'POST',
      url: '/api/ipc/earning:pause',
      headers: { ...json, origin: 'http://127.0.0.1:8080', host: '127.0.0.1:8080' },
      payload: {}
    })
    expect(same.statusCode).toBe(200)
  })

  it('maps node errors to their code and status', async () => {
    const { app, control } = await makeApp()
    control.state.failNext = Object.assign(new Error('runtime is building'), {
      code: 'runtime_unavailable',
      status: 503
    })
    const r = await app.inject({ method: 'POST', url: '/api/ipc/status:get', headers: json, payload: {} })
    expect(r.statusCode).toBe(503)
    expect(r.json()).toEqual({ ok: false, error: { code: 'runtime_unavailable', message: 'runtime is building' } })
  })
})

describe('GET /api/events', () => {
  it('streams contract events, drops malformed ones, and cleans up on disconnect', async () => {
    const { app, control } = await makeApp()
    const url = await app.listen({ host: '127.0.0.1', port: 0 })
    const abort = new AbortController()
    const res = await fetch(`${url}/api/events`, { signal: abort.signal })
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/)
    const reader = res.body!.getReader()
    const history = eventHistoryFor(control.events)
    expect(history.subscribers()).toBe(1)
    control.events.emit('peer:updated', { peerId: 'x', alive: 'maybe' } as never)
    control.events.emit('status:changed', { paused: true })
    let text = ''
    const decoder = new TextDecoder()
    for (let i = 0; i < 20 && !(text.includes('status:changed') && text.includes(': ping')); i++) {
      const { value } = await reader.read()
      text += decoder.decode(value)
    }
    expect(text).toContain('"name":"status:changed"')
    expect(text).not.toContain('"peer:updated"')
    expect(text).toContain(': ping')
    abort.abort()
    await reader.cancel().catch(() => {})
    for (let i = 0; i < 50 && history.subscribers() > 0; i++) await new Promise((r) => setTimeout(r, 20))
    expect(history.subscribers()).toBe(0)
    const recent = await app.inject({ method: 'POST', url: '/api/ipc/events:recent', headers: json, payload: {} })
    expect(recent.json().value.map((e: { name: string }) => e.name)).toEqual(['status:changed'])
  })
})

describe('static dashboard', () => {
  function site(): string {
    const dir = mkdtempSync(join(tmpdir(), 'mw-static-'))
    dirs.push(dir)
    mkdirSync(join(dir, 'assets'))
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>dash</title>')
    writeFileSync(join(dir, 'assets', 'app.js'), 'console.log(1)')
    writeFileSync(join(dir, '..', 'secret-' + dir.split('-').pop()), 'secret')
    return dir
  }

  it('serves files with content types, falls back to index.html, and blocks traversal', async () => {
    const dir = site()
    const app = Fastify()
    apps.push(app)
    await registerStaticRoutes(app, dir)
    const index = await app.inject('/')
    expect(index.headers['content-type']).toMatch(/text\/html/)
    expect(index.headers['content-security-policy']).toContain("default-src 'self'")
    const js = await app.inject('/assets/app.js')
    expect(js.headers['content-type']).toMatch(/javascript/)
    expect(js.headers['cache-control']).toContain('immutable')
    expect((await app.inject('/peers')).body).toContain('<title>dash</title>')
    expect((await app.inject('/assets/missing.js')).statusCode).toBe(404)
    const secret = 'secret-' + dir.split('-').pop()
    for (const path of [`/../${secret}`, `/..%2f${secret}`, `/%2e%2e/${secret}`, `/assets/..%2f..%2f${secret}`]) {
      const r = await app.inject(path)
      expect(r.body, path).not.toBe('secret')
    }
    expect((await app.inject('/api/nothing')).statusCode).toBe(404)
    rmSync(join(dir, '..', secret))
  })

  it('says how to build the dashboard when it is missing', async () => {
    const app = Fastify()
    apps.push(app)
    await registerStaticRoutes(app, join(tmpdir(), 'mw-does-not-exist'))
    const r = await app.inject('/')
    expect(r.statusCode).toBe(503)
    expect(r.body).toMatch(/npm run build/)
  })
})
