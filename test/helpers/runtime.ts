import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { promisify } from 'node:util'
import { build } from 'esbuild'
import { createEvents, type NodeEvents } from '../../electron/core/events'
import type { RuntimeComponents } from '../../electron/core/runtime/components'
import { ensureBuiltinModel } from '../../electron/core/runtime/models'
import type { ResolvedModel } from '../../electron/core/runtime/models/types'
import { createLogger } from '../../electron/core/util/logger'

const run = promisify(execFile)
export const ROOT = resolve(import.meta.dirname, '../..')
/** Test bundles live under the repo so that Node finds node_modules from them. */
export const CACHE = resolve(ROOT, 'node_modules/.cache/meshwork-test')

const esbuildOptions = {
  bundle: true,
  platform: 'node' as const,
  format: 'esm' as const,
  target: 'node22',
  packages: 'external' as const,
  logLevel: 'warning' as const,
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
}

/** Bundles a TypeScript entry the way scripts/build.mjs does, into the test cache. */
export async function bundle(entry: string, outfile: string): Promise<string> {
  const out = resolve(CACHE, outfile)
  mkdirSync(resolve(out, '..'), { recursive: true })
  await build({ ...esbuildOptions, entryPoints: [resolve(ROOT, entry)], outfile: out })
  return out
}

/** The worker bundle (electron/worker/main.ts), built fresh for this test run. */
export function bundleWorker(): Promise<string> {
  return bundle('electron/worker/main.ts', 'worker/worker.js')
}

export function tinyModel(dir: string): Promise<ResolvedModel> {
  return ensureBuiltinModel('meshwork-tiny', dir)
}

export interface TestComponents extends RuntimeComponents {
  events: NodeEvents
  logs: string[]
}

export function testComponents(peerId: string, models: ResolvedModel[], dataDir: string): TestComponents {
  const logs: string[] = []
  const events = createEvents()
  events.on('runtime:log', (e) => logs.push(`${e.stream}: ${e.line}`))
  const logger = createLogger(`test:${peerId.slice(0, 12)}`, {
    level: process.env.MESHWORK_LOG_LEVEL === 'debug' ? 'debug' : 'warn'
  })
  return { logger, events, peerId, dataDir, models, threads: 1, logs }
}

export interface Completion {
  text: string
  tokenIds: number[]
  chunks: number
  finishReason?: string
}

/** A streamed /v1/completions call, collected from its SSE chunks. */
export async function streamCompletion(
  endpoint: string,
  body: Record<string, unknown>,
  signal?: AbortSignal,
  token?: string
): Promise<Completion> {
  const response = await fetch(`${endpoint}/v1/completions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token !== undefined ? { authorization: `Bearer ${token}` } : {})
    },
    body: JSON.stringify({ ...body, stream: true, return_token_ids: true }),
    signal: signal ?? AbortSignal.timeout(60_000)
  })
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`)
  const raw = await response.text()
  const out: Completion = { text: '', tokenIds: [], chunks: 0 }
  let done = false
  for (const line of raw.split('\n')) {
    if (!line.startsWith('data: ')) continue
    const data = line.slice(6).trim()
    if (data === '[DONE]') {
      done = true
      continue
    }
    const chunk = JSON.parse(data) as {
      choices?: Array<{ text?: string; token_ids?: number[]; finish_reason?: string | null }>
    }
    for (const choice of chunk.choices ?? []) {
      out.text += choice.text ?? ''
      out.tokenIds.push(...(choice.token_ids ?? []))
      if (choice.finish_reason) out.finishReason = choice.finish_reason
    }
    out.chunks++
  }
  if (!done) throw new Error(`stream ended without [DONE]: ${raw.slice(-500)}`)
  return out
}

/** `docker` CLI, independent of the code under test. */
export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { maxBuffer: 16 << 20 })
  return stdout.trim()
}

export async function containersOf(peerId: string): Promise<string[]> {
  const out = await docker('ps', '-aq', '--no-trunc', '--filter', `label=meshwork.peer=${peerId}`)
  return out === '' ? [] : out.split('\n')
}

/** Removes every container labelled with one of these peer ids (afterAll, pass or fail). */
export async function removeContainersOf(...peerIds: string[]): Promise<void> {
  for (const peerId of peerIds) {
    const ids = await containersOf(peerId).catch(() => [])
    if (ids.length > 0) await docker('rm', '-f', ...ids).catch(() => undefined)
  }
}

/** True while the process exists and is not a zombie (an orphan's zombie may linger unreaped). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}
