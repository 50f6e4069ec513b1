// Test harness for routing: provider peers as real OS processes (libp2p + infer service + real
// worker), and an in-process router node (libp2p + Router + the real API server).
import { multiaddr } from '@multiformats/multiaddr'
import { loopbackLibp2p } from './fixtures/loopback-libp2p'
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import type { Advert } from '../../../shared/advert'
import { createMetrics, registerMetricsRoute } from '../../../electron/core/api/metrics'
import { registerOpenAiRoutes } from '../../../electron/core/api/openai-routes'
import { ApiServer } from '../../../electron/core/api/server'
import { createEvents, type NodeEvents } from '../../../electron/core/events'
import { PeerDirectory } from '../../../electron/core/p2p/peer-directory'
import { createRouter, type Router, type RouterOptions } from '../../../electron/core/router/router'
import { ensureBuiltinModel } from '../../../electron/core/runtime/models'
import { createLogger } from '../../../electron/core/util/logger'
import { bundle, bundleWorker, CACHE } from '../../helpers/runtime'
import { waitFor } from '../../helpers/wait'

const MODELS = join(CACHE, 'routing-models')

export interface Fixtures {
  workerJs: string
  providerJs: string
  model: { name: string; path: string; sha256: string; contextLength: number }
}

/** Bundles the worker and the provider script, writes the built-in model (cached). */
export async function prepareFixtures(modelName = 'meshwork-tiny'): Promise<Fixtures> {
  const workerJs = await bundleWorker()
  const providerJs = await bundle('test/integration/routing/fixtures/provider.ts', 'routing/provider.mjs')
  const model = await ensureBuiltinModel(modelName, MODELS)
  return {
    workerJs,
    providerJs,
    model: { name: model.name, path: model.path, sha256: model.sha256, contextLength: model.contextLength }
  }
}

export interface Provider {
  peerId: string
  multiaddr: string
  workerUrl: string
  workerPid: number
  proc: ChildProcess
  send(line: string): void
  /** Pauses or resumes the provider itself (it then refuses or takes jobs); resolves once it has. */
  setPaused(paused: boolean): Promise<void>
  /** How many jobs the provider has finished (ok or not). */
  served(): Promise<number>
  kill(signal?: NodeJS.Signals): Promise<void>
  killWorker(): void
  logs(): string
}

const children = new Set<ChildProcess>()
const pids = new Set<number>()

export async function startProvider(f: Fixtures, maxJobs = 4): Promise<Provider> {
  const proc = spawn(
    process.execPath,
    [f.providerJs, f.workerJs, f.model.name, f.model.path, f.model.sha256, String(maxJobs)],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, MESHWORK_LOG_LEVEL: 'warn' }
    }
  )
  children.add(proc)
  let out = ''
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()))
  const info = await new Promise<{ peerId: string; multiaddr: string; workerUrl: string; workerPid: number }>(
    (resolve, reject) => {
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
    }
  )
  pids.add(info.workerPid)
  /** Sends a command line and waits (bounded) for the answer that matches `answer`. */
  const ask = async (line: string, answer: RegExp): Promise<RegExpExecArray> => {
    const before = out.length
    proc.stdin?.write(line + '\n')
    return waitFor(() => answer.exec(out.slice(before)), 1_000, {
      intervalMs: 20,
      what: `the provider to answer '${line}'`
    })
  }
  return {
    ...info,
    proc,
    send: (line) => proc.stdin?.write(line + '\n'),
    setPaused: async (paused) => {
      await ask(paused ? 'pause' : 'resume', paused ? /PAUSED\n/ : /RESUMED\n/)
    },
    served: async () => Number((await ask('served', /SERVED (\d+)\n/))[1]),
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

/**
 * The node's own peer directory, fed with adverts here instead of by discovery (which would fetch
 * the same adverts over libp2p): what the router does with them, paused ones included, is the real
 * thing. `deaths` records what markDead was told.
 */
export class StaticPeerTable extends PeerDirectory {
  readonly deaths: Array<{ peerId: string; reason: string }> = []

  constructor(events: NodeEvents) {
    super(events, 24 * 3_600_000)
  }

  add(
    peerId: string,
    model: { name: string; sha256: string; contextLength?: number },
    extra: Partial<Advert> = {}
  ): void {
    const advert: Advert = {
      peerId,
      version: 'test',
      seq: 1,
      timestamp: Date.now(),
      paused: false,
      models: [{ name: model.name, sha256: model.sha256, params: 1, contextLength: model.contextLength }],
      benchmark: {},
      price: { perMillionTokens: 0, currency: 'credits' },
      load: { inflight: 0, queued: 0, capacity: 4 },
      ...extra
    }
    this.accept(advert)
    this.recordRtt(peerId, 1)
  }

  /** A newer advert that says the provider is (or no longer is) paused, as discovery would deliver it. */
  setAdvertPaused(peerId: string, paused: boolean): void {
    const advert = this.get(peerId)?.advert
    if (advert === undefined) throw new Error(`unknown peer ${peerId}`)
    const result = this.accept({ ...advert, paused, seq: advert.seq + 1, timestamp: Date.now() })
    if (!result.accepted) throw new Error(`advert not accepted: ${result.reason}`)
  }

  override markDead(peerId: string, reason: string): void {
    this.deaths.push({ peerId, reason })
    super.markDead(peerId, reason)
  }
}

export interface RouterNode {
  baseURL: string
  router: Router
  events: ReturnType<typeof createEvents>
  peers: StaticPeerTable
  connect(p: Pick<Provider, 'peerId' | 'multiaddr'>, model: Fixtures['model'], advert?: Partial<Advert>): Promise<void>
  close(): Promise<void>
}

export async function startRouterNode(options: Partial<RouterOptions> = {}): Promise<RouterNode> {
  const libp2p = await loopbackLibp2p()
  const events = createEvents()
  const peers = new StaticPeerTable(events)
  const logger = createLogger('router-node', { level: process.env.MESHWORK_LOG_LEVEL === 'debug' ? 'debug' : 'warn' })
  const router = createRouter({ peers, libp2p, events, logger, ...options })
  const metrics = createMetrics({ events }, { defaultMetrics: false })
  await metrics.start()
  const api = new ApiServer(
    { logger },
    {
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 4 * 1024 * 1024,
      routes: [
        (app) => registerOpenAiRoutes(app, { router, logger }),
        (app) => registerMetricsRoute(app, metrics.registry)
      ]
    }
  )
  await api.start()
  return {
    baseURL: api.url,
    router,
    events,
    peers,
    connect: async (p, model, advert) => {
      await libp2p.dial(multiaddr(p.multiaddr))
      peers.add(p.peerId, model, advert)
    },
    close: async () => {
      await metrics.stop()
      await api.stop()
      await libp2p.stop()
    }
  }
}

/** Greedy reference straight from a worker (no mesh in between). */
export async function direct(
  workerUrl: string,
  path: '/v1/completions' | '/v1/chat/completions',
  body: Record<string, unknown>
): Promise<string> {
  const res = await fetch(workerUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: false })
  })
  if (!res.ok) throw new Error(`direct call failed: ${res.status} ${await res.text()}`)
  const json = (await res.json()) as { choices: Array<{ text?: string; message?: { content: string } }> }
  return json.choices[0].text ?? json.choices[0].message?.content ?? ''
}
