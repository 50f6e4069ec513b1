import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../../helpers/wait'
import {
  type Fixtures,
  type Provider,
  type RouterNode,
  killAll,
  prepareFixtures,
  startProvider,
  startRouterNode
} from './mesh'
import { allUnderWay, busiestProvider, chunkCounts, greedyReference, startStreams, type StreamRun } from './streams'

// 3 providers behind one router; providers die (SIGKILL of the peer, SIGKILL of its worker — what
// `docker kill` does to a container — and SIGSTOP, a frozen box) before the first token and in
// the middle of streams. Every request must finish with exactly the greedy reference text.

let f: Fixtures
let node: RouterNode
let client: OpenAI
const providers: Provider[] = []
const gaps: number[] = []

interface Job {
  api: 'chat' | 'completions'
  prompt: string
  reference: string
}
const jobs: Job[] = []
const PROMPTS = ['The river', 'In a distant galaxy', 'Recipe for bread:', 'Dear diary,', 'fn main() {', 'Weather today']
// below the worker's 512-token replay bound, where continuations are promised byte-exact
const MAX_TOKENS = 480

async function addProvider(): Promise<Provider> {
  const p = await startProvider(f)
  await node.connect(p, f.model)
  providers.push(p)
  return p
}

function live(): Provider[] {
  return providers.filter((p) => p.proc.exitCode === null && p.proc.signalCode === null)
}

beforeAll(async () => {
  // the slower built-in model, so streams are still running when a provider is hurt
  f = await prepareFixtures('meshwork-small')
  node = await startRouterNode()
  await Promise.all([addProvider(), addProvider(), addProvider()])
  client = new OpenAI({ baseURL: node.baseURL + '/v1', apiKey: 'unused', maxRetries: 0 })
  node.events.on('request:failover', (e) => {
    if (e.gapMs !== undefined && e.emittedTokens > 0) gaps.push(e.gapMs)
  })
  // startStreams alternates completions and chat in the same way
  for (const [i, prompt] of PROMPTS.entries()) {
    const api = i % 2 === 0 ? 'completions' : 'chat'
    jobs.push({
      api,
      prompt,
      reference: await greedyReference(async () => providers[0].workerUrl, f.model.name, MAX_TOKENS, api, prompt)
    })
  }
})

afterAll(async () => {
  if (gaps.length > 0) {
    const sorted = [...gaps].sort((a, b) => a - b)
    console.log(
      `mid-stream failover gaps (ms): n=${sorted.length} p50=${sorted[Math.floor(sorted.length / 2)]} p95=${sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]} max=${sorted.at(-1)}`
    )
  }
  await node?.close()
  await killAll()
})

const referenceOf = (run: StreamRun): string =>
  jobs.find((j) => j.api === run.api && j.prompt === run.prompt)!.reference

/** Starts every job as a stream, lets them emit some tokens, hurts the busiest provider, checks all. */
async function midStreamRound(
  hurt: (p: Provider) => Promise<void> | void
): Promise<{ victim: Provider; runs: StreamRun[] }> {
  const runs = await startStreams(client, f.model.name, MAX_TOKENS, PROMPTS)
  // hurt the busiest provider as soon as every stream is under way (well inside max_tokens)
  await waitFor(() => allUnderWay(runs), 20_000, {
    intervalMs: 10,
    what: 'every stream under way',
    state: () => chunkCounts(runs)
  })
  const busiest = busiestProvider(runs)
  const victim = providers.find((p) => p.peerId === busiest)!
  await hurt(victim)
  await Promise.all(runs.map((r) => r.done))
  for (const r of runs) expect(r.text, `${r.api} '${r.prompt}'`).toBe(referenceOf(r))
  expect(runs.filter((r) => r.approximate)).toEqual([])
  // the victim's streams that were still being generated continued elsewhere (one that the router
  // had already fully received may legitimately end without a failover)
  const moved = runs.filter((r) => r.provider === busiest)
  expect(moved.some((r) => r.failovers >= 1)).toBe(true)
  return { victim, runs }
}

describe('failover chaos (3 providers, 1 router)', () => {
  it('SIGKILL of the provider peer mid-stream: every stream continues token-exact', async () => {
    for (let round = 0; round < 3; round++) {
      const { victim } = await midStreamRound((p) => p.kill('SIGKILL'))
      expect(node.peers.deaths.map((d) => d.peerId)).toContain(victim.peerId)
      await addProvider()
    }
  })

  it("SIGKILL of the provider's worker (its container) mid-stream: same", async () => {
    const { victim } = await midStreamRound((p) => p.killWorker())
    await victim.kill('SIGKILL')
    await addProvider()
  })

  it('a frozen provider (SIGSTOP) is detected by the stall timeout and the stream moves on', async () => {
    const { victim } = await midStreamRound((p) => {
      p.proc.kill('SIGSTOP')
    })
    victim.proc.kill('SIGKILL')
    await addProvider()
  })

  it('providers killed before the first token: a burst of requests is not lost', async () => {
    const [a, b] = live()
    await a.kill('SIGKILL')
    await b.kill('SIGKILL')
    // the table still lists both as alive: the router finds out by trying
    const early: string[] = []
    const onFailover = (e: { reason: string; emittedTokens: number }): void => {
      if (e.emittedTokens === 0) early.push(e.reason)
    }
    node.events.on('request:failover', onFailover)
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => jobs[i % jobs.length]).map(async (job) => {
        if (job.api === 'chat') {
          const r = await client.chat.completions.create({
            model: f.model.name,
            messages: [{ role: 'user', content: job.prompt }],
            max_tokens: MAX_TOKENS,
            temperature: 0
          })
          return [job, r.choices[0].message.content] as const
        }
        const r = await client.completions.create({
          model: f.model.name,
          prompt: job.prompt,
          max_tokens: MAX_TOKENS,
          temperature: 0
        })
        return [job, r.choices[0].text] as const
      })
    )
    node.events.off('request:failover', onFailover)
    for (const [job, text] of answers) expect(text).toBe(job.reference)
    expect(early.length).toBeGreaterThan(0)
    expect(early.every((r) => r === 'provider_unreachable')).toBe(true)
    await addProvider()
  })

  it('all providers gone: a clear 503 within bounded time, never a hang', async () => {
    await Promise.all(live().map((p) => p.kill('SIGKILL')))
    const started = Date.now()
    const err = await client.completions
      .create({ model: f.model.name, prompt: 'anyone?', max_tokens: 5 })
      .catch((e: unknown) => e)
    expect(err).toMatchObject({ status: 503 })
    expect(Date.now() - started).toBeLessThan(10_000)
    const again = await fetch(node.baseURL + '/v1/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: f.model.name, prompt: 'x' })
    })
    expect(again.status).toBe(503)
    expect(again.headers.get('retry-after')).not.toBeNull()
  })
})
