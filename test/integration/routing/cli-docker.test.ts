import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type NodeProcess, killAllNodes, startNode } from '../../helpers/node-process'
import { waitFor } from '../../helpers/wait'
import { docker, removeContainersOf } from '../../helpers/runtime'
import {
  allUnderWay,
  busiestProvider,
  chunkCounts,
  greedyReference,
  startStreams,
  waitForLiveProviders
} from './streams'
import { workerToken } from '../../helpers/worker-token'

// Providers with the Docker runtime behind one router: `docker kill` of a provider's container
// and SIGKILL of a provider node in the middle of streams. Needs a Docker engine (CI starts one).

// the slower built-in model, so streams are still running when a provider is hurt
const MODEL = 'meshwork-small'
// below the worker's 512-token replay bound, where continuations are promised byte-exact
const MAX_TOKENS = 480
const PROMPTS = ['north', 'south', 'east', 'west', 'up', 'down']
const providers: NodeProcess[] = []
let router: NodeProcess
let client: OpenAI

const status = (node: NodeProcess) => node.get('/api/status')

async function addProvider(bootstrap: string[]): Promise<NodeProcess> {
  const node = await startNode({ bootstrap, args: ['--runtime', 'docker', '--model', MODEL], timeoutMs: 180_000 })
  providers.push(node)
  await waitFor(async () => (await status(node)).runtime.state === 'ready', 180_000, { intervalMs: 500 })
  return node
}

const alive = () => providers.filter((p) => p.proc.exitCode === null && p.proc.signalCode === null)

const reference = (api: 'chat' | 'completions', prompt: string): Promise<string> =>
  greedyReference(
    async () => (await status(alive()[0])).runtime.endpoint,
    MODEL,
    MAX_TOKENS,
    api,
    prompt,
    () => workerToken(alive()[0].dataDir)
  )

beforeAll(async () => {
  await docker('info') // fails loudly without an engine: this test never skips
  const first = await addProvider([])
  await Promise.all([addProvider([first.multiaddr]), addProvider([first.multiaddr])])
  router = await startNode({ bootstrap: [first.multiaddr], args: ['--no-serve'] })
  await waitForLiveProviders(router, MODEL, 3, 60_000)
  client = new OpenAI({ baseURL: router.apiUrl + '/v1', apiKey: 'sk-ignored', maxRetries: 0 })
  // references first: after a docker kill that provider's runtime is restarting
  for (const [i, prompt] of PROMPTS.entries()) await reference(i % 2 === 0 ? 'completions' : 'chat', prompt)
})

afterAll(async () => {
  await killAllNodes()
  await removeContainersOf(...providers.map((p) => p.peerId))
})

async function round(hurt: (victim: NodeProcess) => Promise<void>): Promise<void> {
  const runs = await startStreams(client, MODEL, MAX_TOKENS, PROMPTS)
  // hurt the busiest provider as soon as every stream is under way (well inside max_tokens)
  await waitFor(() => allUnderWay(runs), 30_000, { intervalMs: 5, state: () => chunkCounts(runs) })
  const victimId = busiestProvider(runs)
  await hurt(providers.find((p) => p.peerId === victimId)!)
  await Promise.all(runs.map((r) => r.done))
  for (const r of runs) {
    expect(r.approximate, `${r.api} ${r.prompt} approximate`).toBe(false)
    expect(r.text, `${r.api} ${r.prompt}`).toBe(await reference(r.api, r.prompt))
  }
  expect(runs.filter((r) => r.provider === victimId && r.failovers > 0).length).toBeGreaterThan(0)
}

describe('docker providers behind a router', () => {
  it('docker kill of a provider container mid-stream: every stream continues token-exact', async () => {
    await round(async (victim) => {
      await docker('kill', (await status(victim)).runtime.containerId)
    })
  })

  it('SIGKILL of a docker provider node mid-stream: same', async () => {
    await round((victim) => victim.kill('SIGKILL'))
  })
})
