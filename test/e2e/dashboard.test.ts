import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { killAllNodes, startNode, type NodeProcess } from '../helpers/node-process'
import { waitFor } from '../helpers/wait'
import { launchChromium, openPage, screenshot, watchConsole } from './browser'

// The dashboard served by a real headless node, driven in real Chromium, in a mesh of real processes:
// A (the owner's node, a provider, whose dashboard we drive), B (another provider) and C (a consumer).

const MODEL = 'meshwork-tiny'

async function peerView(
  observer: NodeProcess,
  peerId: string
): Promise<{ paused: boolean; alive: boolean } | undefined> {
  const { peers } = await observer.get('/api/peers')
  return peers.find((p: { peerId: string }) => p.peerId === peerId)
}

/** One chat completion through C's OpenAI API; returns the provider that served it. */
async function chatVia(consumer: NodeProcess): Promise<{ status: number; provider: string | null }> {
  const res = await fetch(`${consumer.apiUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: MODEL,
      messages: [{ role: 'user', content: 'hello' }],
      max_tokens: 8,
      temperature: 0
    }),
    signal: AbortSignal.timeout(60_000)
  })
  await res.arrayBuffer()
  return { status: res.status, provider: res.headers.get('x-meshwork-provider') }
}

describe('dashboard on a real node in a small mesh', () => {
  let browser: Browser
  let page: Page
  let problems: string[]
  let a: NodeProcess
  let b: NodeProcess
  let c: NodeProcess

  beforeAll(async () => {
    a = await startNode({ args: ['--runtime', 'process'] })
    browser = await launchChromium()
    page = await browser.newPage({ viewport: { width: 1320, height: 860 } })
    problems = watchConsole(page)
  })
  afterAll(async () => {
    await browser?.close()
    await killAllNodes()
  })

  it('shows the local hardware profile, and other peers as they join', async () => {
    const status = await a.get('/api/status')
    await openPage(page, a.apiUrl, 'overview')
    await expect
      .poll(() => page.getByTestId('gpu-card').textContent(), { timeout: 15_000 })
      .toContain(status.hardware.cpu.brand)
    if (status.hardware.gpus.length === 0) await page.getByTestId('no-gpu').waitFor()
    else expect(await page.getByTestId('gpu-card').textContent()).toContain(status.hardware.gpus[0].model)

    await openPage(page, a.apiUrl, 'peers')
    await page.getByTestId('no-peers').waitFor({ timeout: 15_000 })
    // B and C join after the page loaded: B must appear without a reload
    b = await startNode({ bootstrap: [a.multiaddr], args: ['--runtime', 'process'] })
    const bUp = Date.now()
    c = await startNode({ bootstrap: [a.multiaddr], args: ['--no-serve'] })
    await page.locator(`[data-peer="${b.peerId}"]`).waitFor({ timeout: 30_000 })
    console.log(`peer B appeared on A's open dashboard ${Date.now() - bUp} ms after its API was up`)
    expect(await page.locator(`[data-peer="${b.peerId}"]`).textContent()).toContain(MODEL)
    await screenshot(page, 'mesh-peers')
  })

  it('"Pause earning" makes the other peers see A paused within 10 s, and A takes no new jobs', async () => {
    await openPage(page, a.apiUrl, 'overview')
    await waitFor(
      async () => (await peerView(c, a.peerId))?.alive === true && (await peerView(c, b.peerId))?.alive === true,
      60_000,
      { intervalMs: 250 }
    ).catch(async (err) => {
      throw new Error(
        `${(err as Error).message}: C sees ${JSON.stringify((await c.get('/api/peers?all=1')).peers.map((p: { peerId: string; alive: boolean; excludedReason?: string }) => [p.peerId.slice(-6), p.alive, p.excludedReason]))} (A …${a.peerId.slice(-6)}, B …${b.peerId.slice(-6)})`
      )
    })
    const servedBefore = (await a.get('/api/status')).stats.served
    await page.getByRole('button', { name: 'Pause earning' }).click()
    const clicked = Date.now()
    await expect.poll(() => page.getByTestId('earning-state').textContent()).toBe('Paused')
    await waitFor(async () => (await peerView(c, a.peerId))?.paused === true, 10_000, { intervalMs: 100 })
    const seenAfter = Date.now() - clicked
    console.log(`pause clicked in the dashboard, seen by peer C after ${seenAfter} ms`)
    expect(seenAfter).toBeLessThan(10_000)
    expect((await a.get('/api/status')).paused).toBe(true)
    await screenshot(page, 'mesh-overview-paused')

    for (let i = 0; i < 3; i++) {
      const r = await chatVia(c)
      expect(r.status).toBe(200)
      expect(r.provider).toBe(b.peerId)
    }
    expect((await a.get('/api/status')).stats.served).toBe(servedBefore)
  })

  it('"Resume earning" undoes it: peers see A earning again and A serves jobs', async () => {
    await page.getByRole('button', { name: 'Resume earning' }).click()
    const clicked = Date.now()
    // the seen-by-peers clock starts when A itself reports the resume (the call restarts A's runtime first)
    await waitFor(async () => (await a.get('/api/status')).paused === false, 60_000, { intervalMs: 100 })
    const resumedAfter = Date.now() - clicked
    const unpausedAt = Date.now()
    await waitFor(async () => (await peerView(c, a.peerId))?.paused === false, 10_000, { intervalMs: 100 })
    const seen = Date.now() - unpausedAt
    console.log(`resume clicked in the dashboard: A unpaused after ${resumedAfter} ms, peer C saw it ${seen} ms later`)
    await expect.poll(() => page.getByTestId('earning-state').textContent(), { timeout: 30_000 }).not.toBe('Paused')
    // with B paused, A is the only provider left: the job must land on A
    expect((await b.post('/api/pause')).status).toBe(200)
    await waitFor(async () => (await peerView(c, b.peerId))?.paused === true, 10_000, { intervalMs: 100 })
    let served: { status: number; provider: string | null } | undefined
    await waitFor(
      async () => {
        served = await chatVia(c)
        return served.status === 200
      },
      60_000,
      { intervalMs: 1000 }
    )
    expect(served?.provider).toBe(a.peerId)
    await expect.poll(() => page.getByTestId('earning-state').textContent(), { timeout: 30_000 }).toBe('Earning')
    await openPage(page, a.apiUrl, 'requests')
    await page.getByTestId('jobs-table').waitFor({ timeout: 10_000 })
    expect(await page.getByTestId('jobs-table').textContent()).toContain(MODEL)
    await screenshot(page, 'mesh-requests')
  })

  it('renders every page with real data, without console errors', async () => {
    for (const id of ['overview', 'runtime', 'earnings', 'settings']) {
      await openPage(page, a.apiUrl, id)
      await page.waitForTimeout(300)
      await screenshot(page, `mesh-${id}`)
    }
    expect(await page.getByTestId('settings-network').textContent()).toContain(a.apiUrl)
    // A served jobs at the default price of 0: its by-day chart counts them instead of an empty window
    await openPage(page, a.apiUrl, 'earnings')
    const earnedPerDay = page.getByTestId('earnings-earned-per-day')
    await expect.poll(() => earnedPerDay.textContent(), { timeout: 10_000 }).toContain('free jobs (price 0)')
    expect(await earnedPerDay.textContent()).toMatch(/peak \d+ jobs? per day/)
    expect(problems).toEqual([])
  })

  it('a --no-serve node says it routes only, and offers no earning toggle', async () => {
    await openPage(page, c.apiUrl, 'overview')
    await expect.poll(() => page.getByTestId('earning-state').textContent(), { timeout: 15_000 }).toBe('Router only')
    expect(await page.getByTestId('hero').textContent()).toContain('--no-serve')
    expect(await page.getByTestId('earning-toggle').count()).toBe(0)
    expect(await page.getByTestId('benchmark-card').textContent()).toContain('Nothing to measure')
    await screenshot(page, 'mesh-router-only')
    expect(problems).toEqual([])
  })
})
