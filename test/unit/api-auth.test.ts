import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerControlRoutes } from '../../electron/core/api/control-routes'
import { registerIpcRoutes } from '../../electron/core/api/ipc-routes'
import { registerMetricsRoute } from '../../electron/core/api/metrics'
import { registerOpenAiRoutes } from '../../electron/core/api/openai-routes'
import { ApiServer } from '../../electron/core/api/server'
import { registerStaticRoutes } from '../../electron/core/api/static-routes'
import type { Router } from '../../electron/core/router/router'
import { createLogger } from '../../electron/core/util/logger'
import { createFixtureControl, type FixtureControl } from '../fixtures/dashboard/control'
import { rawRequest, type RawResponse } from '../helpers/raw-http'

const KEY = 'sk-test-key-0123456789'
const json = { 'content-type': 'application/json' }
let server: ApiServer
let control: FixtureControl
let port: number
let dir: string

/** The OpenAI routes only need these two router calls for GET /v1/models. */
const modelsOnlyRouter = { knownModels: () => new Set(['meshwork-tiny']), candidates: () => [] } as unknown as Router

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mw-auth-'))
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Meshwork</title>')
  control = createFixtureControl()
  const logger = createLogger('test', { level: 'error' })
  server = new ApiServer(
    { logger },
    {
      host: '127.0.0.1',
      port: 0,
      apiKey: KEY,
      maxBodyBytes: 4 * 1024 * 1024,
      routes: [
        (app) => registerControlRoutes(app, control),
        (app) => registerIpcRoutes(app, control, { logger }),
        (app) => registerOpenAiRoutes(app, { router: modelsOnlyRouter, logger }),
        (app) => registerMetricsRoute(app, new Registry()),
        (app) => registerStaticRoutes(app, dir)
      ]
    }
  )
  await server.start()
  port = Number(new URL(server.url).port)
})

afterAll(async () => {
  await server.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** What only a protected handler would answer: the models list, the node status, metrics, an IPC envelope. */
function leaked(res: RawResponse): boolean {
  return /"object":"list"|"peerId"|# HELP|"ok":true|"paused"|: connected/.test(res.body)
}

function expectRefused(res: RawResponse, what: string): void {
  expect(res.error, what).toBeUndefined()
  expect([401, 404], `${what} answered ${res.status}: ${res.body.slice(0, 120)}`).toContain(res.status)
  expect(leaked(res), what).toBe(false)
}

describe('API key on the matched route', () => {
  const host = () => `127.0.0.1:${port}`
  const reads = [
    '/%761/models',
    '/v1/%6dodels',
    '//v1/models',
    '/./v1/models',
    '/x/../v1/models',
    '/v1/models/',
    '/v1//models',
    '/%2e/v1/models',
    '/%61pi/status',
    '/api/%73tatus',
    '/api/status?x=/',
    '/%6detrics',
    '//metrics',
    '/api/./events'
  ]

  it('refuses encoded, doubled-slash and dot-segment targets without the key', async () => {
    for (const target of reads) expectRefused(await rawRequest(port, { method: 'GET', target }), `GET ${target}`)
  })

  it('refuses absolute-form targets without the key', async () => {
    for (const path of ['/v1/models', '/api/status', '/metrics', '/%761/models']) {
      const target = `http://${host()}${path}`
      const res = await rawRequest(port, { method: 'GET', target })
      expectRefused(res, `GET ${target}`)
      expect(res.status, target).toBe(401)
    }
  })

  it('cannot pause the node through any spelling of /api/pause', async () => {
    for (const target of [
      '/%61pi/pause',
      '/api/%70ause',
      '//api/pause',
      '/api/./pause',
      '/x/../api/pause',
      `http://${host()}/api/pause`,
      '/api/ipc/earning%3apause',
      '/api/ipc/earning:pause'
    ]) {
      expectRefused(await rawRequest(port, { method: 'POST', target, headers: json, body: '{}' }), `POST ${target}`)
    }
    expect(control.state.status.paused).toBe(false)
  })

  it('refuses a wrong, empty or malformed key, and HEAD and unknown routes without one', async () => {
    for (const authorization of [
      `Bearer ${KEY}x`,
      `Bearer ${KEY.slice(0, -1)}`,
      'Bearer ',
      `Basic ${KEY}`,
      KEY,
      `Bearer  x${KEY}`
    ]) {
      const res = await rawRequest(port, { method: 'GET', target: '/v1/models', headers: { authorization } })
      expect(res.status, authorization).toBe(401)
      expect(JSON.parse(res.body).error.code).toBe('invalid_api_key')
    }
    expect((await rawRequest(port, { method: 'HEAD', target: '/%761/models' })).status).toBe(401)
    for (const method of ['DELETE', 'PUT', 'OPTIONS', 'PATCH']) {
      const res = await rawRequest(port, { method, target: '/v1/models', headers: json, body: '{}' })
      expect(res.status, method).toBe(401)
    }
  })

  it('answers the same targets with the key, so the refusals above are the guard', async () => {
    const authorization = `Bearer ${KEY}`
    for (const target of ['/%761/models', `http://${host()}/v1/models`]) {
      const res = await rawRequest(port, { method: 'GET', target, headers: { authorization } })
      expect(res.status, target).toBe(200)
      expect(JSON.parse(res.body).data[0].id).toBe('meshwork-tiny')
    }
    expect(
      (await rawRequest(port, { method: 'GET', target: '/api/%73tatus', headers: { authorization } })).status
    ).toBe(200)
    const unknown = await rawRequest(port, {
      method: 'DELETE',
      target: '/nope',
      headers: { authorization, ...json },
      body: '{}'
    })
    expect(unknown.status).toBe(404)
    const paused = await rawRequest(port, {
      method: 'POST',
      target: '/%61pi/pause',
      headers: { authorization, ...json },
      body: '{}'
    })
    expect(paused.status).toBe(200)
    expect(control.state.status.paused).toBe(true)
    await control.resume()
  })

  it('serves the dashboard files without the key, and never an API path through them', async () => {
    const page = await rawRequest(port, { method: 'GET', target: '/' })
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toMatch(/text\/html/)
    expect((await rawRequest(port, { method: 'GET', target: '/peers' })).status).toBe(200)
    for (const target of ['//v1/models', '/V1/models', '/./api/status', '/%2fapi/status', '/assets/../metrics']) {
      const res = await rawRequest(port, { method: 'GET', target })
      expect(res.status, target).toBe(404)
    }
  })
})
