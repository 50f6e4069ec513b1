import { execFileSync, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EarningsResponse, Totals } from '../../shared/earnings'
import { CLI, type NodeProcess, killAllNodes, startNode } from '../helpers/node-process'
import { waitFor } from '../helpers/wait'
import { launchChromium, openPage, screenshot } from '../e2e/browser'
import { waitForLiveProviders } from './routing/streams'
import { tempDir } from '../helpers/temp-dir'

// Real `meshwork start` processes: two cheap providers, one dear one, and a router (--no-serve) that
// the official SDK talks to. Receipts travel over real libp2p; each ledger is a SQLite file in its data dir.

const MODEL = 'meshwork-small'
const CHEAP = ['--price', `${MODEL}=1/2`]
const DEAR = ['--price', `${MODEL}=40/80`]
const WITHIN = { maxPrice: 5 }
let cheapA: NodeProcess
let cheapB: NodeProcess
let dear: NodeProcess
let router: NodeProcess
let client: OpenAI

/**
 * A data dir whose config turns reputation challenges off for this test: a challenger does not yet
 * account for its challenge jobs, so they would show as earned on the provider's side only.
 */
function dataDir(): string {
  const dir = tempDir('meshwork-earnings-')
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ reputation: { challengeIntervalMs: 3_600_000 } }))
  return dir
}

async function provider(args: string[], bootstrap: string[], dir = dataDir()): Promise<NodeProcess> {
  const node = await startNode({
    bootstrap,
    dataDir: dir,
    args: ['--runtime', 'process', '--model', MODEL, ...args],
    timeoutMs: 120_000
  })
  await waitFor(async () => (await node.get('/api/status')).runtime.endpoint !== undefined, 60_000, {
    intervalMs: 200,
    what: 'the runtime'
  })
  return node
}

const earnings = (node: NodeProcess): Promise<EarningsResponse> => node.get('/api/earnings?recent=500')
const ZERO: Totals = { jobs: 0, promptTokens: 0, completionTokens: 0, amount: 0 }
const withPeer = (e: EarningsResponse, peerId: string, side: 'earned' | 'spent'): Totals =>
  e.byPeer.find((p) => p.peerId === peerId)?.[side] ?? ZERO

function cli(...args: string[]): { status: number | null; out: string } {
  const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 })
  return { status: run.status, out: run.stdout + run.stderr }
}

/** SIGKILLs the worker processes a `--runtime process` node runs (its children): its jobs fail mid-stream. */
function killWorkers(node: NodeProcess): void {
  const pids = execFileSync('pgrep', ['-P', String(node.proc.pid)], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
  expect(pids.length).toBeGreaterThan(0)
  for (const pid of pids) process.kill(Number(pid), 'SIGKILL')
}

interface Run {
  provider: string
  chunks: number
  completionTokens: number
  failovers: number
  done: Promise<void>
}

/** Starts one greedy stream within the price; `done` resolves when it has ended. */
async function stream(prompt: string, maxTokens: number): Promise<Run> {
  const { data, response } = await client.completions
    .create({ model: MODEL, prompt, max_tokens: maxTokens, temperature: 0, stream: true, meshwork: WITHIN } as never)
    .withResponse()
  const run: Run = {
    provider: response.headers.get('x-meshwork-provider') ?? '',
    chunks: 0,
    completionTokens: 0,
    failovers: 0,
    done: Promise.resolve()
  }
  run.done = (async () => {
    for await (const chunk of data as unknown as AsyncIterable<any>) {
      run.chunks++
      if (chunk.usage) run.completionTokens = chunk.usage.completion_tokens
      if (chunk.meshwork) run.failovers = chunk.meshwork.failovers
    }
  })()
  return run
}

beforeAll(async () => {
  cheapA = await provider(CHEAP, [])
  ;[cheapB, dear] = await Promise.all([provider(CHEAP, [cheapA.multiaddr]), provider(DEAR, [cheapA.multiaddr])])
  router = await startNode({ bootstrap: [cheapA.multiaddr], dataDir: dataDir(), args: ['--no-serve'] })
  await waitForLiveProviders(router, MODEL, 3, 60_000)
  client = new OpenAI({ baseURL: router.apiUrl + '/v1', apiKey: 'sk-ignored', maxRetries: 0 })
}, 300_000)

afterAll(killAllNodes)

describe('earnings in a real mesh', () => {
  it('a maximum price keeps requests on the providers it allows; none within it: 402 price_exceeded', async () => {
    const { peers } = await router.get('/api/peers')
    expect(peers.find((p: any) => p.peerId === dear.peerId).advert.price.models[MODEL]).toEqual({
      prompt: 40,
      completion: 80
    })
    for (let i = 0; i < 4; i++) {
      const { response } = await client.completions
        .create({ model: MODEL, prompt: `cheap ${i}`, max_tokens: 8, meshwork: WITHIN } as never)
        .withResponse()
      expect([cheapA.peerId, cheapB.peerId]).toContain(response.headers.get('x-meshwork-provider'))
    }
    const err = (await client.completions
      .create({ model: MODEL, prompt: 'too cheap', max_tokens: 8, meshwork: { maxPrice: 0.5 } } as never)
      .catch((e: unknown) => e)) as any
    expect(err.status).toBe(402)
    expect(err.error).toMatchObject({ code: 'price_exceeded', type: 'invalid_request_error' })
    expect((await earnings(dear)).earned.jobs).toBe(0)
  })

  it('after mid-stream failovers each provider earned exactly what the consumer spent, at least what the client received', async () => {
    const runs = await Promise.all(['alpha', 'beta', 'gamma', 'delta'].map((p) => stream(p, 300)))
    await waitFor(() => runs.every((r) => r.chunks >= 3), 30_000, { intervalMs: 5, what: 'every stream under way' })
    const load = (node: NodeProcess): number => runs.filter((r) => r.provider === node.peerId).length
    killWorkers(load(cheapA) >= load(cheapB) ? cheapA : cheapB)
    await Promise.all(runs.map((r) => r.done))
    expect(runs.map((r) => r.completionTokens)).toEqual([300, 300, 300, 300])
    expect(runs.some((r) => r.failovers > 0)).toBe(true)
    const received = runs.reduce((n, r) => n + r.completionTokens, 0)

    // countersignatures travel after the answers: wait until both sides agree, per provider
    const sides = async (): Promise<Record<string, Totals>> => {
      const [r, a, b] = await Promise.all([earnings(router), earnings(cheapA), earnings(cheapB)])
      return {
        spentWithA: withPeer(r, cheapA.peerId, 'spent'),
        earnedByA: withPeer(a, router.peerId, 'earned'),
        spentWithB: withPeer(r, cheapB.peerId, 'spent'),
        earnedByB: withPeer(b, router.peerId, 'earned')
      }
    }
    const agreed = async (): Promise<boolean> => {
      const s = await sides()
      return (
        JSON.stringify(s.spentWithA) === JSON.stringify(s.earnedByA) &&
        JSON.stringify(s.spentWithB) === JSON.stringify(s.earnedByB)
      )
    }
    await waitFor(agreed, 20_000, {
      intervalMs: 250,
      what: 'earned and spent to agree',
      state: async () => JSON.stringify(await sides())
    })
    const spent = await earnings(router)
    expect(spent.spent.completionTokens).toBeGreaterThanOrEqual(received)
    expect(withPeer(spent, dear.peerId, 'spent')).toEqual(ZERO)
    expect(spent.recent.filter((r) => !r.signed.receipt.complete).length).toBeGreaterThan(0)
    for (const r of spent.recent)
      expect(r, `receipt ${r.seq}`).toMatchObject({ providerSigValid: true, consumerSigValid: true })
    for (const node of [router, cheapA, cheapB]) {
      const check = cli('earnings', '--verify', '--data-dir', node.dataDir)
      expect(check.out).toMatch(/^OK: /)
      expect(check.status).toBe(0)
    }
  })

  it('kill -9 of a provider in a burst of jobs: every receipt it issued survives, its chain is valid after restart', async () => {
    const before = withPeer(await earnings(router), cheapB.peerId, 'spent').jobs
    const burst = Array.from({ length: 16 }, (_, i) =>
      client.completions
        .create({ model: MODEL, prompt: `burst ${i}`, max_tokens: 24, meshwork: WITHIN } as never)
        .catch(() => undefined)
    )
    await waitFor(async () => withPeer(await earnings(router), cheapB.peerId, 'spent').jobs >= before + 3, 60_000, {
      intervalMs: 20,
      what: 'jobs on the victim'
    })
    await cheapB.kill('SIGKILL')
    await Promise.all(burst)
    cheapB = await provider(CHEAP, [cheapA.multiaddr], cheapB.dataDir)
    const check = cli('earnings', '--verify', '--data-dir', cheapB.dataDir)
    expect(check.out).toMatch(/^OK: /)
    // every receipt the consumer holds with the provider's signature was committed by the provider first
    const held = (await earnings(router)).recent.filter(
      (r) => r.signed.receipt.provider === cheapB.peerId && r.signed.providerSig !== undefined
    )
    const kept = new Set((await earnings(cheapB)).recent.map((r) => r.signed.receipt.id))
    expect(held.length).toBeGreaterThan(before)
    for (const r of held) expect(kept.has(r.signed.receipt.id), `receipt ${r.signed.receipt.id}`).toBe(true)
  })

  it('the Earnings page shows the real receipts, verifies the ledger, and says when paused that nothing is earned', async () => {
    const browser = await launchChromium()
    try {
      const page = await browser.newPage({ viewport: { width: 1320, height: 900 } })
      await openPage(page, router.apiUrl, 'earnings')
      await page.getByTestId('receipts-table').waitFor({ timeout: 15_000 })
      await page.getByRole('button', { name: 'Verify ledger' }).click()
      await expect
        .poll(() => page.getByTestId('ledger-verify').textContent())
        .toMatch(/✓ \d+ entries, \d+ signatures verified/)
      expect(await page.getByTestId('earnings-by-peer').textContent()).toContain(cheapA.peerId.slice(0, 8))
      await screenshot(page, 'earnings-consumer')

      await openPage(page, cheapA.apiUrl, 'earnings')
      await page.getByTestId('receipts-table').waitFor({ timeout: 15_000 })
      await page.getByRole('button', { name: 'receipt' }).first().click()
      expect(await page.getByTestId('receipt-json').textContent()).toContain('"providerSig"')
      await screenshot(page, 'earnings-provider')

      await cheapA.post('/api/pause')
      await page.getByTestId('earnings-paused').waitFor({ timeout: 15_000 })
      await screenshot(page, 'earnings-provider-paused')

      // a new price set in Settings reaches the consumer in the provider's signed advert
      await openPage(page, cheapA.apiUrl, 'settings')
      await page.getByLabel(`${MODEL} completion price`).fill('3')
      await page.getByRole('button', { name: 'Save prices' }).click()
      await page.getByText('Saved: peers see the new prices').waitFor({ timeout: 15_000 })
      await screenshot(page, 'settings-prices')
      const advertised = async (): Promise<unknown> =>
        (await router.get('/api/peers?all=1')).peers.find((p: any) => p.peerId === cheapA.peerId)?.advert.price
          .models?.[MODEL]
      await waitFor(
        async () => JSON.stringify(await advertised()) === JSON.stringify({ prompt: 1, completion: 3 }),
        20_000,
        {
          what: 'the new price in the advert',
          state: async () => JSON.stringify(await advertised())
        }
      )
    } finally {
      await browser.close()
    }
  })
})
