import { existsSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerIpcRoutes } from '../../electron/core/api/ipc-routes'
import { ApiServer } from '../../electron/core/api/server'
import { registerStaticRoutes } from '../../electron/core/api/static-routes'
import { createLogger } from '../../electron/core/util/logger'
import { createFixtureControl } from '../fixtures/dashboard/control'
import { launchChromium } from './browser'

// The dashboard in real Chromium against a real ApiServer that requires an API key: it asks for the key,
// sends it on every call and on the live event stream (fetch streaming: EventSource cannot send it).

const RENDERER = join(process.cwd(), 'dist', 'renderer')
const KEY = 'sk-dashboard-key-0123456789'
let browser: Browser
let server: ApiServer
const control = createFixtureControl()
const seen: Array<{ url: string; authorization?: string }> = []

beforeAll(async () => {
  if (!existsSync(join(RENDERER, 'index.html'))) throw new Error('dist/renderer is missing: run `npm run build` first')
  const logger = createLogger('test', { level: 'error' })
  server = new ApiServer(
    { logger },
    {
      host: '127.0.0.1',
      port: 0,
      apiKey: KEY,
      maxBodyBytes: 1024 * 1024,
      routes: [
        (app) => registerIpcRoutes(app, control, { heartbeatMs: 200 }),
        (app) => registerStaticRoutes(app, RENDERER)
      ]
    }
  )
  await server.start()
  // every request as it arrives, also those the key check refuses and the long-lived event stream
  server.app.server.on('request', (request: IncomingMessage) => {
    if (request.url?.startsWith('/api/')) seen.push({ url: request.url, authorization: request.headers.authorization })
  })
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

describe('dashboard on a node that requires an API key', () => {
  it('asks for the key, then sends it on every call and on the event stream', async () => {
    const page = await browser.newPage()
    await page.goto(`${server.url}/#/overview`)
    const prompt = page.getByTestId('api-key-prompt')
    await prompt.waitFor({ timeout: 15_000 })
    expect(await prompt.textContent()).toContain('needs its API key')
    expect(seen.some((r) => r.authorization === undefined)).toBe(true)

    seen.length = 0
    await page.getByLabel('API key').fill(KEY)
    await page.getByRole('button', { name: 'Unlock' }).click()
    await page.waitForLoadState('load')
    // the status call went through: the sidebar says what the node does, not that it is unreachable
    await page
      .getByTestId('sidebar-state')
      .filter({ hasText: /^\s*Earning/ })
      .waitFor({ timeout: 15_000 })
    expect(await page.getByTestId('api-key-prompt').count()).toBe(0)
    // the live stream: an event pushed by the node reaches the page
    const before = seen.filter((r) => r.url === '/api/events').length
    expect(before).toBeGreaterThan(0)
    await control.pause()
    await page.getByTestId('sidebar-state').filter({ hasText: /paus/i }).waitFor({ timeout: 15_000 })
    expect(seen.length).toBeGreaterThan(1)
    for (const request of seen) expect(request.authorization, request.url).toBe(`Bearer ${KEY}`)
    // kept for this tab only unless asked otherwise
    expect(
      await page.evaluate(() => [sessionStorage.getItem('meshwork.apiKey'), localStorage.getItem('meshwork.apiKey')])
    ).toEqual([KEY, null])
    await page.close()
  })

  it('says so when the stored key is wrong', async () => {
    const page = await browser.newPage()
    await page.goto(`${server.url}/#/overview`)
    await page.evaluate(() => sessionStorage.setItem('meshwork.apiKey', 'sk-wrong-key-000000'))
    await page.reload()
    const prompt = page.getByTestId('api-key-prompt')
    await prompt.waitFor({ timeout: 15_000 })
    expect(await prompt.textContent()).toContain('refused this API key')
    await page.close()
  })
})
