import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type NodeProcess, killAllNodes, startNode } from '../../helpers/node-process'
import { waitFor } from '../../helpers/wait'
import {
  allUnderWay,
  busiestProvider,
  chunkCounts,
  greedyReference,
  startStreams,
  waitForLiveProviders
} from './streams'
import { workerToken } from '../../helpers/worker-token'

// The real product: `meshwork start` processes (3 providers with process runtimes, 1 router with
// --no-serve), the official SDK against the router's API, providers SIGKILLed mid-stream.

// the slower built-in model, so streams are still running when a provider is hurt
const MODEL = 'meshwork-small'
// below the worker's 512-token replay bound, where continuations are promised byte-exact
const MAX_TOKENS = 480
const providers: NodeProcess[] = []
let router: NodeProcess
let client: OpenAI

async function endpointOf(node: NodeProcess): Promise<string> {
  const status = await node.get('/api/status')
  return status.runtime.endpoint
}

async function addProvider(bootstrap: string[]): Promise<NodeProcess> {
  const node = await startNode({ bootstrap, args: ['--runtime', 'process', '--model', MODEL], timeoutMs: 120_000 })
  await waitFor(
    async () => (await endpointOf(node)) !== undefined && (await node.get('/api/status')).models.length > 0,
    60_000,
    { intervalMs: 200 }
  )
  providers.push(node)
  return node
}

function alive(): NodeProcess[] {
  return providers.filter((p) => p.proc.exitCode === null && p.proc.signalCode === null)
}

const reference = (api: 'chat' | 'completions', prompt: string): Promise<string> =>
  greedyReference(
    () => endpointOf(alive()[0]),
    MODEL,
    MAX_TOKENS,
    api,
    prompt,
    () => workerToken(alive()[0].dataDir)
  )

beforeAll(async () => {
  const first = await addProvider([])
  await Promise.all([addProvider([first.multiaddr]), addProvider([first.multiaddr])])
  router = await startNode({ bootstrap: [first.multiaddr], args: ['--no-serve'] })
  await waitForLiveProviders(router, MODEL, 3, 60_000)
  client = new OpenAI({ baseURL: router.apiUrl + '/v1', apiKey: 'sk-ignored', maxRetries: 0 })
})

afterAll(killAllNodes)

describe('meshwork start: OpenAI SDK through a router node', () => {
  it('chat and completions, streamed and not, equal the provider answer at temperature 0', async () => {
    expect((await client.models.list()).data.map((m) => m.id)).toContain(MODEL)
    const chatRef = await reference('chat', 'Hello mesh')
    const chat = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Hello mesh' }],
      max_tokens: MAX_TOKENS,
      temperature: 0
    })
    expect(chat.choices[0].message.content).toBe(chatRef)
    let streamed = ''
    for await (const c of await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Hello mesh' }],
      max_tokens: MAX_TOKENS,
      temperature: 0,
      stream: true
    })) {
      streamed += c.choices[0]?.delta?.content ?? ''
    }
    expect(streamed).toBe(chatRef)
    const textRef = await reference('completions', 'The mesh')
    const { data, response } = await client.completions
      .create({ model: MODEL, prompt: 'The mesh', max_tokens: MAX_TOKENS, temperature: 0 })
      .withResponse()
    expect(data.choices[0].text).toBe(textRef)
    expect(providers.map((p) => p.peerId)).toContain(response.headers.get('x-meshwork-provider'))
    streamed = ''
    for await (const c of await client.completions.create({
      model: MODEL,
      prompt: 'The mesh',
      max_tokens: MAX_TOKENS,
      temperature: 0,
      stream: true
    }))
      streamed += c.choices[0]?.text ?? ''
    expect(streamed).toBe(textRef)
  })

  it('SIGKILL of provider nodes mid-stream: zero requests lost, every stream token-exact', async () => {
    const prompts = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta']
    for (let round = 0; round < 2; round++) {
      const runs = await startStreams(client, MODEL, MAX_TOKENS, prompts)
      // hurt the busiest provider as soon as every stream is under way (well inside max_tokens)
      await waitFor(() => allUnderWay(runs), 30_000, { intervalMs: 5, state: () => chunkCounts(runs) })
      const victimId = busiestProvider(runs)
      const victim = providers.find((p) => p.peerId === victimId)!
      await victim.kill('SIGKILL')
      await Promise.all(runs.map((r) => r.done))
      for (const r of runs) {
        expect(r.approximate, `${r.api} ${r.prompt} approximate`).toBe(false)
        expect(r.text, `${r.api} ${r.prompt}`).toBe(await reference(r.api, r.prompt))
      }
      expect(runs.filter((r) => r.provider === victimId && r.failovers > 0).length).toBeGreaterThan(0)
      await addProvider([alive()[0].multiaddr])
      await waitForLiveProviders(router, MODEL, 3, 30_000)
    }
    const metrics = await (await fetch(router.apiUrl + '/metrics')).text()
    expect(metrics).toMatch(/meshwork_failovers_total\{reason="[a-z_]+",phase="mid_stream"\} [1-9]/)
    const gap = /meshwork_failover_gap_seconds_count (\d+)/.exec(metrics)
    expect(Number(gap?.[1])).toBeGreaterThan(0)
  })

  it('a provider killed just before a burst: nothing lost; all gone: 503 within bounded time', async () => {
    const victim = alive()[0]
    await victim.kill('SIGKILL')
    const answers = await Promise.all(
      ['one', 'two', 'three', 'four', 'five', 'six'].map(async (prompt) => {
        const r = await client.completions.create({ model: MODEL, prompt, max_tokens: 50, temperature: 0 })
        return r.choices[0].text.length
      })
    )
    expect(answers.every((n) => n > 0)).toBe(true)
    await Promise.all(alive().map((p) => p.kill('SIGKILL')))
    const started = Date.now()
    const err = await client.completions
      .create({ model: MODEL, prompt: 'anyone?', max_tokens: 5 })
      .catch((e: unknown) => e)
    expect(err).toMatchObject({ status: 503 })
    expect(Date.now() - started).toBeLessThan(15_000)
  })
})
