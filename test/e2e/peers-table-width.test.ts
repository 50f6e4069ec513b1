import Fastify, { type FastifyInstance } from 'fastify'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerIpcRoutes } from '../../electron/core/api/ipc-routes'
import { registerStaticRoutes } from '../../electron/core/api/static-routes'
import { createFixtureControl, fixturePeer } from '../fixtures/dashboard/control'
import { launchChromium, openPage, screenshot, watchConsole } from './browser'

// The Peers table has ten columns: every one must be reachable, at the dashboard's usual window
// (1320 px) without scrolling, and in a narrower window by scrolling the table sideways.

const RENDERER = join(process.cwd(), 'dist', 'renderer')
const GPU = { vendor: 'NVIDIA', model: 'NVIDIA GeForce RTX 4090', vramMB: 24_564, driver: '550.54' }
let browser: Browser
let app: FastifyInstance
let base: string

beforeAll(async () => {
  if (!existsSync(join(RENDERER, 'index.html'))) throw new Error('dist/renderer is missing: run `npm run build` first')
  const gpuPeer = fixturePeer('12D3KooWRemoteAlpha1111111111111111111111111111', {
    trustEvidence: { source: 'local', successes: 40, failures: 1, tokensPerSecond: 171 }
  })
  gpuPeer.advert.hardware = {
    gpus: [GPU],
    cpu: { brand: 'AMD Ryzen 9 7950X', cores: 32 },
    memoryMB: 65_536,
    os: 'Windows 11'
  }
  const control = createFixtureControl({
    peers: [gpuPeer, fixturePeer('12D3KooWRemoteBravo2222222222222222222222222222', { paused: true, rttMs: 41 })]
  })
  app = Fastify()
  await registerIpcRoutes(app, control)
  await registerStaticRoutes(app, RENDERER)
  base = await app.listen({ host: '127.0.0.1', port: 0 })
  browser = await launchChromium()
})
afterAll(async () => {
  await app?.close()
  await browser?.close()
})

/** The table's scroll box (its parent), whose right edge is where the columns are cut off. */
const scrollBox = (page: Page): Locator => page.getByTestId('peers-table').locator('xpath=..')

/** Each header's right edge minus the right edge of the table's scroll box (> 0: cut off). */
async function overhang(page: Page): Promise<Record<string, number>> {
  const box = await scrollBox(page).boundingBox()
  const out: Record<string, number> = {}
  for (const th of await page.getByTestId('peers-table').locator('th').all()) {
    const head = await th.boundingBox()
    out[(await th.textContent()) ?? ''] = Math.round(head!.x + head!.width - (box!.x + box!.width))
  }
  return out
}

async function peersPage(width: number): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width, height: 860 } })
  const problems = watchConsole(page)
  await openPage(page, base, 'peers')
  await expect.poll(() => page.locator('[data-testid=peers-table] tbody tr').count()).toBe(2)
  return { page, problems }
}

describe('the Peers table', () => {
  it('shows every column in a 1320 px window, a GPU name included', async () => {
    const { page, problems } = await peersPage(1320)
    const heads = await overhang(page)
    expect(Object.keys(heads)).toHaveLength(10)
    expect(heads).toHaveProperty(['Last seen'])
    for (const [head, past] of Object.entries(heads)) expect(past, head).toBeLessThanOrEqual(0)
    expect(await page.locator('[data-peer^="12D3KooWRemoteAlpha"]').textContent()).toContain('RTX 4090')
    await screenshot(page, 'peers-1320')
    expect(problems).toEqual([])
    await page.close()
  })

  it('scrolls sideways in a narrower window, so the last column is still reachable', async () => {
    const { page, problems } = await peersPage(960)
    // the page itself does not grow wider than the window: only the table scrolls
    const box = await scrollBox(page).boundingBox()
    expect(box!.x + box!.width).toBeLessThanOrEqual(960)
    expect((await overhang(page))['Last seen']).toBeGreaterThan(0)
    await page.getByTestId('peers-table').locator('th', { hasText: 'Last seen' }).scrollIntoViewIfNeeded()
    const after = await overhang(page)
    expect(after['Last seen']).toBeLessThanOrEqual(0)
    expect(after['Last seen']).toBeGreaterThan(-100)
    await screenshot(page, 'peers-960-scrolled')
    expect(problems).toEqual([])
    await page.close()
  })
})
