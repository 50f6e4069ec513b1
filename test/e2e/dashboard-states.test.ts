import Fastify, { type FastifyInstance } from 'fastify'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerIpcRoutes } from '../../electron/core/api/ipc-routes'
import { registerStaticRoutes } from '../../electron/core/api/static-routes'
import { createFixtureControl, fixturePeer, fixtureStatus, type FixtureControl } from '../fixtures/dashboard/control'
import { launchChromium, openPage, screenshot, watchConsole } from './browser'

// The renderer in real Chromium against the real HTTP routes, with the node replaced by an in-memory
// fixture so that states a mesh on this machine cannot reach (an RTX 4090, no Docker, a dead node) are shown.
// The mesh itself is exercised by dashboard.test.ts with real nodes.

const RENDERER = join(process.cwd(), 'dist', 'renderer')
let browser: Browser
const servers: FastifyInstance[] = []

async function serve(control: FixtureControl): Promise<string> {
  const app = Fastify()
  await registerIpcRoutes(app, control)
  await registerStaticRoutes(app, RENDERER)
  servers.push(app)
  return app.listen({ host: '127.0.0.1', port: 0 })
}

beforeAll(async () => {
  if (!existsSync(join(RENDERER, 'index.html'))) throw new Error('dist/renderer is missing: run `npm run build` first')
  browser = await launchChromium()
})
afterAll(async () => {
  for (const s of servers) await s.close()
  await browser?.close()
})

async function newPage(): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1320, height: 860 } })
  return { page, problems: watchConsole(page) }
}

describe('dashboard states (fixture node)', () => {
  it('shows a GPU rig, its peers, live requests and runtime progress; every page renders', async () => {
    const control = createFixtureControl({
      peers: [
        fixturePeer('12D3KooWRemoteAlpha1111111111111111111111111111', {
          trustEvidence: { source: 'local', successes: 40, failures: 1, tokensPerSecond: 171 }
        }),
        fixturePeer('12D3KooWRemoteBravo2222222222222222222222222222', { paused: true, trust: 0.4, rttMs: 41 }),
        fixturePeer('12D3KooWRemoteGone33333333333333333333333333333', {
          alive: false,
          excludedReason: 'missed 3 adverts'
        })
      ],
      settings: {
        dataDir: '/home/gamer/.meshwork',
        apiUrl: 'http://127.0.0.1:8080',
        apiHost: '127.0.0.1',
        apiPort: 8080,
        p2pHost: '0.0.0.0',
        p2pPort: 40001,
        bootstrap: ['/ip4/203.0.113.7/tcp/4001/p2p/12D3KooWBootstrap'],
        mdns: true,
        apiKeySet: false,
        runtime: 'auto',
        models: ['meshwork-tiny'],
        pauseStopsRuntime: true,
        pricePerMillionTokens: 0,
        maxConcurrentJobs: 2
      }
    })
    const base = await serve(control)
    const { page, problems } = await newPage()
    await openPage(page, base, 'overview')
    await expect.poll(() => page.getByTestId('gpu-card').textContent()).toContain('GeForce RTX 4090')
    await expect.poll(() => page.getByTestId('earning-state').textContent()).toBe('Earning')

    // live events, no reload: a served job, a routed request with one failover, progress and logs
    const now = Date.now()
    control.events.emit('job:served', {
      id: 'j1',
      model: 'meshwork-tiny',
      consumer: '12D3KooWRemoteAlpha1111111111111111111111111111',
      promptTokens: 31,
      completionTokens: 480,
      ok: true
    })
    control.events.emit('request:started', { id: 'r1', model: 'meshwork-tiny', stream: true })
    control.events.emit('request:attempt', {
      id: 'r1',
      provider: '12D3KooWRemoteAlpha1111111111111111111111111111',
      attempt: 1,
      continuation: false
    })
    control.events.emit('request:failover', {
      id: 'r1',
      from: '12D3KooWRemoteAlpha1111111111111111111111111111',
      to: '12D3KooWRemoteBravo2222222222222222222222222222',
      reason: 'stream broke',
      emittedTokens: 12
    })
    control.events.emit('request:finished', {
      id: 'r1',
      providers: ['12D3KooWRemoteAlpha1111111111111111111111111111', '12D3KooWRemoteBravo2222222222222222222222222222'],
      failovers: 1,
      ok: true,
      latencyMs: 812,
      completionTokens: 64
    })
    control.events.emit('runtime:progress', {
      task: 'build worker image',
      fraction: 0.62,
      message: 'copying model (51 MB)'
    })
    control.events.emit('benchmark:progress', { task: 'meshwork-tiny' })
    control.events.emit('runtime:log', { line: 'worker listening on :8000', stream: 'stdout' })
    control.events.emit('runtime:log', { line: 'warning: KV cache size reduced', stream: 'stderr' })
    expect(Date.now() - now).toBeLessThan(1000)
    await expect.poll(() => page.getByTestId('charts').textContent()).toContain('peak')
    await screenshot(page, 'fixture-overview')

    await openPage(page, base, 'peers')
    const rows = page.locator('[data-testid=peers-table] tbody tr')
    await expect.poll(() => rows.count()).toBe(2)
    expect(await page.locator('[data-peer="12D3KooWRemoteBravo2222222222222222222222222222"]').textContent()).toContain(
      'paused'
    )
    const alpha = await page.locator('[data-peer="12D3KooWRemoteAlpha1111111111111111111111111111"]').textContent()
    expect(alpha).toContain('180 tok/s') // advertised
    expect(alpha).toContain('171 tok/s') // measured by this node
    expect(alpha).toContain('40 ok · 1 failed')
    await page.getByLabel('show offline peers').check()
    await expect.poll(() => rows.count()).toBe(3)
    await screenshot(page, 'fixture-peers')

    await openPage(page, base, 'requests')
    expect(await page.getByTestId('requests-table').textContent()).toContain('812 ms')
    expect(await page.getByTestId('jobs-table').textContent()).toContain('480')
    await screenshot(page, 'fixture-requests')

    await openPage(page, base, 'runtime')
    expect(await page.getByTestId('progress-card').textContent()).toContain('62%')
    expect(await page.getByTestId('runtime-log').textContent()).toContain('worker listening')
    expect(await page.getByTestId('models-table').textContent()).toContain('a'.repeat(64))
    await screenshot(page, 'fixture-runtime')

    await openPage(page, base, 'earnings')
    await expect.poll(() => page.getByTestId('earnings-receipts').textContent()).toContain('No receipts yet')
    await screenshot(page, 'fixture-earnings')

    await openPage(page, base, 'settings')
    expect(await page.getByTestId('settings-network').textContent()).toContain('203.0.113.7')
    expect(await page.getByTestId('settings-prices').textContent()).toContain('meshwork-tiny')
    await screenshot(page, 'fixture-settings')

    // the toggle drives the node and reflects its answer
    await openPage(page, base, 'overview')
    await page.getByRole('button', { name: 'Pause earning' }).click()
    await expect.poll(() => page.getByTestId('earning-state').textContent()).toBe('Paused')
    expect(control.state.status.paused).toBe(true)
    await page.getByRole('button', { name: 'Resume earning' }).click()
    await expect.poll(() => page.getByTestId('earning-state').textContent()).toBe('Earning')
    expect(problems).toEqual([])
    await page.close()
  })

  it('explains a machine with no GPU, no Docker and no peers', async () => {
    const bare = fixtureStatus({
      connections: 0,
      runtime: {
        kind: 'none',
        state: 'unavailable',
        message: 'Docker is not running (connect ENOENT /var/run/docker.sock).'
      },
      models: [],
      benchmark: {},
      hardware: {
        gpus: [],
        cpu: { brand: 'Intel Core i5', cores: 4 },
        memoryMB: 8192,
        os: 'Debian 13',
        docker: { available: false }
      }
    })
    const base = await serve(createFixtureControl({ status: bare }))
    const { page, problems } = await newPage()
    await openPage(page, base, 'overview')
    await page.getByTestId('no-gpu').waitFor()
    expect(await page.getByTestId('earning-state').textContent()).toBe('Not serving')
    expect(await page.locator('.page').textContent()).toContain('none: no peer reachable yet')
    expect(await page.getByTestId('hero').textContent()).toContain('Docker is not running')
    await screenshot(page, 'fixture-empty-overview')
    await openPage(page, base, 'peers')
    await page.getByTestId('no-peers').waitFor()
    await openPage(page, base, 'runtime')
    await page.getByTestId('no-runtime').waitFor()
    await screenshot(page, 'fixture-empty-runtime')
    expect(problems).toEqual([])
    await page.close()
  })

  it('says so when the node stops answering, and recovers when it is back', async () => {
    const control = createFixtureControl()
    const app = Fastify()
    await registerIpcRoutes(app, control)
    await registerStaticRoutes(app, RENDERER)
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const port = Number(new URL(base).port)
    const { page } = await newPage()
    await openPage(page, base, 'overview')
    await expect.poll(() => page.getByTestId('earning-state').textContent()).toBe('Earning')
    await app.close()
    await expect
      .poll(() => page.getByTestId('sidebar-state').textContent(), { timeout: 15_000 })
      .toContain('Node unreachable')
    await page.getByTestId('unreachable').first().waitFor()
    await screenshot(page, 'fixture-unreachable')
    const again = Fastify()
    await registerIpcRoutes(again, control)
    await registerStaticRoutes(again, RENDERER)
    servers.push(again)
    await again.listen({ host: '127.0.0.1', port })
    await expect.poll(() => page.getByTestId('sidebar-state').textContent(), { timeout: 15_000 }).toContain('Earning')
    await page.close()
  })
})
