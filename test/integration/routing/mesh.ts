// Test harness for routing: provider peers as real OS processes (libp2p + infer service + real
// worker), and an in-process router node (libp2p + Router + the real API server).
import { multiaddr } from '@multiformats/multiaddr'
import { build } from 'esbuild'
import { loopbackLibp2p } from './fixtures/loopback-libp2p'
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Advert } from '../../../shared/advert'
import { createMetrics, registerMetricsRoute } from '../../../electron/core/api/metrics'
import { registerOpenAiRoutes } from '../../../electron/core/api/openai-routes'
import { ApiServer } from '../../../electron/core/api/server'
import { createEvents } from '../../../electron/core/events'
import type { PeerEntry, PeerTable } from '../../../electron/core/p2p/peer-table'
import { createRouter, type Router, type RouterOptions } from '../../../electron/core/router/router'
import { ensureBuiltinModel } from '../../../electron/core/runtime/models'
import { createLogger } from '../../../electron/core/util/logger'

// found by walking up, so this also works bundled into dist/ (the bench)
function findRoot(from: string): string {
  let dir = from
  while (!existsSync(join(dir, 'electron/worker/main.ts'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('cannot find the repository root')
    dir = up
  }
  return dir
}
const ROOT = findRoot(import.meta.dirname)
export const CACHE = join(ROOT, 'node_modules/.cache/meshwork-routing-test')
const banner = { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }

export interface Fixtures {
  workerJs: string
  providerJs: string
  model: { name: string; path: string; sha256: string }
}

/** Bundles the worker and the provider script, writes the built-in model (cached). */
export async function prepareFixtures(modelName = 'meshwork-tiny'): Promise<Fixtures> {
  mkdirSync(CACHE, { recursive: true })
  const common = { bundle: true, platform: 'node', format: 'esm', target: 'node22', packages: 'external', banner, logLevel: 'warning' } as const
  const workerJs = join(CACHE, 'worker.mjs')
  const providerJs = join(CACHE, 'provider.mjs')
  await build({ ...common, entryPoints: [join(ROOT, 'electron/worker/main.ts')], outfile: workerJs })
  await build({ ...common, entryPoints: [join(ROOT, 'test/integration/routing/fixtures/provider.ts')], outfile: providerJs })
  const model = await ensureBuiltinModel(modelName, join(CACHE, 'models'))
  return { workerJs, providerJs, model: { name: model.name, path: model.path, sha256: model.sha256 } }
}

export interface Provider {
  peerId: string
  multiaddr: string
  workerUrl: string
  workerPid: number
  proc: ChildProcess
  send(line: string): void
  /** How many jobs the provider has finished (ok or not). */
  served(): Promise<number>
  kill(signal?: NodeJS.Signals): Promise<void>
  killWorker(): void
  logs(): string
}

const children = new Set<ChildProcess>()
const pids = new Set<number>()

export async function startProvider(f: Fixtures, maxJobs = 4): Promise<Provider> {
  const proc = spawn(process.execPath, [f.providerJs, f.workerJs, f.model.name, f.model.path, f.model.sha256, String(maxJobs)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, MESHWORK_LOG_LEVEL: 'warn' }
  })
  children.add(proc)
  let out = ''
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()))
  const info = await new Promise<{ peerId: string; multiaddr: string; workerUrl: string; workerPid: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`provider did not start:\n${out}`)), 60_000)
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /PROVIDER_READY (\{.*\})/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(JSON.parse(m[1]))
      }
    })
    proc.once('exit', (code) => reject(new Error(`provider exited ${code}:\n${out}`)))
  })
  pids.add(info.workerPid)
  return {
    ...info,
    proc,
    send: (line) => proc.stdin?.write(line + '\n'),
    served: async () => {
      const before = out.length
      proc.stdin?.write('served\n')
      for (let i = 0; i < 50; i++) {
        const m = /SERVED (\d+)\n/.exec(out.slice(before))
        if (m) return Number(m[1])
        await new Promise((r) => setTimeout(r, 20))
      }
      throw new Error('provider did not answer')
    },
    logs: () => out,
    killWorker: () => {
      try {
        process.kill(info.workerPid, 'SIGKILL')
      } catch {
        // already gone
      }
    },
    kill: async (signal = 'SIGKILL') => {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      const exited = new Promise((r) => proc.once('exit', r))
      proc.kill(signal)
      await exited
    }
  }
}

/** Kills every provider and worker process this file started. */
export async function killAll(): Promise<void> {
  for (const proc of children) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  children.clear()
  pids.clear()
}

/** A peer table with static adverts; markDead flips a peer to dead like discovery would. */
export class StaticPeerTable implements PeerTable {
  readonly entries = new Map<string, PeerEntry>()
  readonly deaths: Array<{ peerId: string; reason: string }> = []

  add(peerId: string, model: { name: string; sha256: string }, extra: Partial<Advert> = {}): void {
    const advert: Advert = {
      peerId, version: 'test', seq: 1, timestamp: Date.now(), paused: false,
      models: [{ name: model.name, sha256: model.sha256, params: 1 }],
      benchmark: {}, price: { perMillionTokens: 0, currency: 'credits' },
      load: { inflight: 0, queued: 0, capacity: 4 }, ...extra
    }
    this.entries.set(peerId, { peerId, advert, alive: true, lastSeen: Date.now(), rttMs: 1 })
  }
  get(peerId: string): PeerEntry | undefined {
    return this.entries.get(peerId)
  }
  list(options: { includeDead?: boolean } = {}): PeerEntry[] {
    return [...this.entries.values()].filter((e) => e.alive || options.includeDead)
  }
  candidates(model: string): PeerEntry[] {
    return this.list().filter((e) => !e.advert.paused && e.advert.models.some((m) => m.name === model))
  }
  knownModels(): Set<string> {
    return new Set([...this.entries.values()].flatMap((e) => e.advert.models.map((m) => m.name)))
  }
  markDead(peerId: string, reason: string): void {
    const entry = this.entries.get(peerId)
    if (entry) entry.alive = false
    this.deaths.push({ peerId, reason })
  }
}

export interface RouterNode {
  baseURL: string
  router: Router
  events: ReturnType<typeof createEvents>
  peers: StaticPeerTable
  connect(p: Provider, model: Fixtures['model']): Promise<void>
  close(): Promise<void>
}

export async function startRouterNode(options: Partial<RouterOptions> = {}): Promise<RouterNode> {
  const libp2p = await loopbackLibp2p()
  const events = createEvents()
  const peers = new StaticPeerTable()
  const logger = createLogger('router-node', { level: process.env.MESHWORK_LOG_LEVEL === 'debug' ? 'debug' : 'warn' })
  const router = createRouter({ peers, libp2p, events, logger, ...options })
  const metrics = createMetrics(events, { defaultMetrics: false })
  const api = new ApiServer({
    host: '127.0.0.1', port: 0, maxBodyBytes: 4 * 1024 * 1024, logger,
    routes: [(app) => registerOpenAiRoutes(app, { router, logger }), (app) => registerMetricsRoute(app, metrics.registry)]
  })
  await api.start()
  return {
    baseURL: api.url,
    router,
    events,
    peers,
    connect: async (p, model) => {
      await libp2p.dial(multiaddr(p.multiaddr))
      peers.add(p.peerId, model)
    },
    close: async () => {
      metrics.stop()
      await api.stop()
      await libp2p.stop()
    }
  }
}

/** Greedy reference straight from a worker (no mesh in between). */
export async function direct(workerUrl: string, path: '/v1/completions' | '/v1/chat/completions', body: Record<string, unknown>): Promise<string> {
  const res = await fetch(workerUrl + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: false }) })
  if (!res.ok) throw new Error(`direct call failed: ${res.status} ${await res.text()}`)
  const json = (await res.json()) as { choices: Array<{ text?: string; message?: { content: string } }> }
  return json.choices[0].text ?? json.choices[0].message?.content ?? ''
}
