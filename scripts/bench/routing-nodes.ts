// `meshwork start` processes for the routing bench (the built CLI, real runtimes, loopback only).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { type NodeProcess, startNode } from '../../test/helpers/node-process'

function findRoot(from: string): string {
  let dir = from
  while (!existsSync(join(dir, 'dist/cli.js'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error("dist/cli.js not found: run 'npm run build' first")
    dir = up
  }
  return dir
}

/** A node the bench started: the test helper's process, whose kill() also removes its data dir. */
export type BenchNode = NodeProcess

const started = new Set<BenchNode>()

export interface BenchNodeOptions {
  /** Keep the default advert interval (the routing bench refreshes adverts every second). */
  defaults?: boolean
  /** Written to the data dir's config.json. */
  config?: Record<string, unknown>
  startTimeoutMs?: number
}

/** A `meshwork start` process (the test helper's) in a fresh data dir that its kill() removes. */
export async function startBenchNode(
  args: string[],
  bootstrap: string[] = [],
  options: BenchNodeOptions = {}
): Promise<BenchNode> {
  const cli = join(findRoot(process.cwd()), 'dist/cli.js')
  const dataDir = mkdtempSync(join(tmpdir(), 'meshwork-bench-'))
  if (options.config) writeFileSync(join(dataDir, 'config.json'), JSON.stringify(options.config))
  const env = { MESHWORK_LOG_LEVEL: 'warn', MESHWORK_ADVERT_INTERVAL_MS: options.defaults ? undefined : '1000' }
  const proc = await startNode({
    cli,
    args,
    bootstrap,
    dataDir,
    env,
    timeoutMs: options.startTimeoutMs ?? 180_000,
    logChars: 4000
  })
  const node: BenchNode = {
    ...proc,
    kill: async (signal = 'SIGTERM') => {
      started.delete(node)
      await proc.kill(signal)
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
  started.add(node)
  return node
}

export async function stopBenchNodes(): Promise<void> {
  await Promise.all([...started].map((n) => n.kill('SIGKILL')))
}

/** Polls until `check` holds (bounded). */
export async function until(check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** The newest launch token of the worker a node runs (`<dataDir>/run/worker-*\/secret/token`). */
function workerToken(dataDir: string): string {
  const run = join(dataDir, 'run')
  const files = readdirSync(run)
    .filter((name) => name.startsWith('worker-'))
    .map((name) => join(run, name, 'secret', 'token'))
    .filter((file) => existsSync(file))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
  if (files.length === 0) throw new Error(`no worker launch token under ${run}`)
  return readFileSync(files[0], 'utf8').trim()
}

/**
 * A provider whose runtime is ready; returns it with the runtime's direct endpoint and the headers
 * a direct call needs (the worker answers only with its launch token).
 */
export async function startProviderNode(
  model: string,
  bootstrap: string[] = [],
  options: BenchNodeOptions = {}
): Promise<BenchNode & { endpoint: string; endpointHeaders: Record<string, string> }> {
  const node = await startBenchNode(['--runtime', 'process', '--model', model], bootstrap, options)
  // ready, and its start-up benchmark done (it would compete for the CPU with what we measure)
  await until(async () => {
    const status = await node.get('/api/status')
    return status.runtime.state === 'ready' && status.benchmark[model] !== undefined
  }, 180_000)
  const endpoint = (await node.get('/api/status')).runtime.endpoint as string
  return Object.assign(node, { endpoint, endpointHeaders: { authorization: `Bearer ${workerToken(node.dataDir)}` } })
}

/** A router (no runtime) that sees `count` live providers of `model`. */
export async function startRouterNode(bootstrap: string[], model: string, count: number): Promise<BenchNode> {
  const node = await startBenchNode(['--no-serve'], bootstrap)
  await waitProviders(node, model, count)
  return node
}

export async function waitProviders(node: BenchNode, model: string, count: number, ms = 60_000): Promise<void> {
  await until(async () => (await liveProviders(node, model)).length >= count, ms)
}

/** Peer ids of the live, unpaused providers of `model` that `node` lists. */
export async function liveProviders(node: BenchNode, model: string): Promise<string[]> {
  const { peers } = await node.get('/api/peers')
  return peers
    .filter((p: any) => p.alive !== false && !p.paused && p.advert?.models?.some((m: any) => m.name === model))
    .map((p: any) => p.peerId as string)
}

/** A provider serving the model an OpenAI-compatible endpoint lists (the bench's fake server), benchmarked. */
export async function startExternalProvider(
  endpoint: string,
  model: string,
  bootstrap: string[] = [],
  options: BenchNodeOptions = {}
): Promise<BenchNode> {
  const node = await startBenchNode(['--runtime', 'external', '--endpoint', endpoint], bootstrap, options)
  await until(async () => (await node.get('/api/status')).benchmark?.[model] !== undefined, 60_000)
  return node
}
