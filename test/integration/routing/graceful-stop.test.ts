import { connect } from 'node:net'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import { type NodeProcess, killAllNodes, startNode } from '../../helpers/node-process'
import { waitFor } from '../../helpers/wait'
import { type StreamRun, startStreams, waitForLiveProviders } from './streams'

// A node stopped with SIGTERM (Ctrl-C, systemd, the tray's quit) while it routes a stream for its
// own client and serves a job for a peer: both finish before it goes, within one stop deadline.

const MODEL = 'meshwork-small'
const MAX_TOKENS = 480

async function provider(env: Record<string, string> = {}): Promise<NodeProcess> {
  const node = await startNode({ args: ['--runtime', 'process', '--model', MODEL], env, timeoutMs: 120_000 })
  await waitFor(async () => (await node.get('/api/status')).models.length > 0, 60_000, { intervalMs: 200 })
  return node
}

async function routerFor(
  p: NodeProcess,
  env: Record<string, string> = {}
): Promise<{ router: NodeProcess; client: OpenAI }> {
  const router = await startNode({ bootstrap: [p.multiaddr], args: ['--no-serve'], env })
  await waitForLiveProviders(router, MODEL, 1, 60_000)
  return { router, client: new OpenAI({ baseURL: router.apiUrl + '/v1', apiKey: 'sk-ignored', maxRetries: 0 }) }
}

/** SIGTERM, and how the process ended and how long that took. */
async function terminate(node: NodeProcess): Promise<{ code: number | null; ms: number }> {
  const begun = performance.now()
  const exited = new Promise<number | null>((resolve) => node.proc.once('exit', (code) => resolve(code)))
  node.proc.kill('SIGTERM')
  const code = await exited
  return { code, ms: performance.now() - begun }
}

async function underWay(run: StreamRun): Promise<void> {
  await waitFor(async () => run.chunks >= 3 || run.ended, 30_000, { intervalMs: 20 })
  expect(run.ended, 'the stream must still run when the node is told to stop').toBe(false)
}

function accepts(apiUrl: string): Promise<boolean> {
  const { hostname, port } = new URL(apiUrl)
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname)
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => resolve(false))
  })
}

afterEach(killAllNodes)

describe('graceful stop', () => {
  it('a router node told to stop lets its client finish the stream, refuses new connections, exits 0', async () => {
    const p = await provider()
    const { router, client } = await routerFor(p)
    const [run] = await startStreams(client, MODEL, MAX_TOKENS, ['Once upon a time'])
    await underWay(run)
    const stopping = terminate(router)
    await waitFor(async () => !(await accepts(router.apiUrl)), 5_000, { intervalMs: 20 })
    await run.done
    expect(run.failovers).toBe(0)
    expect(run.chunks).toBeGreaterThan(MAX_TOKENS / 2)
    const { code } = await stopping
    expect(code).toBe(0)
    expect(existsSync(join(router.dataDir, 'api.json'))).toBe(false)
  }, 240_000)

  it('a provider told to stop finishes the job it serves (no failover) and refuses a new one', async () => {
    const p = await provider()
    const { client } = await routerFor(p)
    const [run] = await startStreams(client, MODEL, MAX_TOKENS, ['The history of the mesh'])
    await underWay(run)
    const stopping = terminate(p)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(run.ended, 'the job must still run while the new request is made').toBe(false)
    const refused = await client.completions
      .create({ model: MODEL, prompt: 'Hello', max_tokens: 4 })
      .catch((err: { status?: number }) => err)
    expect(refused).toMatchObject({ status: 503 })
    await run.done
    expect(run.failovers).toBe(0)
    expect(run.chunks).toBeGreaterThan(MAX_TOKENS / 2)
    expect((await stopping).code).toBe(0)
  }, 240_000)

  it('a job longer than the stop deadline is cut at the deadline, and the node still cleans up and exits 0', async () => {
    const p = await provider({ MESHWORK_STOP_TIMEOUT_MS: '1000' })
    const { client } = await routerFor(p)
    const [run] = await startStreams(client, MODEL, MAX_TOKENS, ['A long story about routers'])
    const ended = run.done.then(
      () => 'finished',
      () => 'cut'
    )
    await underWay(run)
    const { code, ms } = await terminate(p)
    expect(code).toBe(0)
    expect(ms).toBeGreaterThanOrEqual(900)
    expect(ms).toBeLessThan(8_000)
    expect(existsSync(join(p.dataDir, 'api.json'))).toBe(false)
    expect(await ended).toBe('cut')
  }, 240_000)
})
