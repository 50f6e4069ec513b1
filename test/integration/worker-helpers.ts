import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

export const ROOT = join(import.meta.dirname, '..', '..')
export const WORKER_JS = join(ROOT, 'dist', 'worker', 'worker.js')

/** Builds dist/worker/worker.js with the project build when it is missing or older than its sources. */
export function ensureWorkerBuilt(): void {
  const sources = readdirSync(join(ROOT, 'electron', 'worker')).map((f) => statSync(join(ROOT, 'electron', 'worker', f)).mtimeMs)
  if (existsSync(WORKER_JS) && statSync(WORKER_JS).mtimeMs > Math.max(...sources)) return
  const build = spawnSync(process.execPath, ['scripts/build.mjs', '--no-renderer'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 })
  if (build.status !== 0 || !existsSync(WORKER_JS)) throw new Error(`worker build failed: ${build.stderr}${build.stdout}`)
}

export interface RunningWorker {
  proc: ChildProcess
  port: number
  base: string
  stderr: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

const running = new Set<ChildProcess>()

/** Spawns the built worker and waits for its ready line (bounded). */
export async function startWorker(args: string[], options: { stdin?: 'pipe' | 'ignore'; timeoutMs?: number } = {}): Promise<RunningWorker> {
  const proc = spawn(process.execPath, [WORKER_JS, ...args], { cwd: ROOT, stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'] })
  running.add(proc)
  let err = ''
  let out = ''
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => {
      running.delete(proc)
      resolve({ code, signal })
    })
  )
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker not ready in time:\n${err}`)), options.timeoutMs ?? 60_000)
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = out.match(/^MESHWORK_WORKER_READY (\{.*\})$/m)
      if (m) {
        clearTimeout(timer)
        resolve(JSON.parse(m[1]).port)
      }
    })
    void exited.then(({ code }) => {
      clearTimeout(timer)
      reject(new Error(`worker exited with ${code} before ready:\n${err}`))
    })
  })
  return { proc, port, base: `http://127.0.0.1:${port}`, stderr: () => err, exited }
}

export function killAllWorkers(): void {
  for (const proc of running) proc.kill('SIGKILL')
  running.clear()
}

export async function getJson(url: string): Promise<any> {
  return (await fetch(url)).json()
}

export async function postJson(base: string, path: string, body: unknown, init: RequestInit = {}): Promise<{ status: number; headers: Headers; json: any }> {
  const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body), ...init })
  const text = await res.text()
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined }
}

/** POSTs a streaming request and returns every `data:` event (parsed) until [DONE]. */
export async function postStream(base: string, path: string, body: Record<string, unknown>): Promise<{ events: any[]; done: boolean; raw: string }> {
  const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) })
  if (res.status !== 200) throw new Error(`stream answered ${res.status}: ${await res.text()}`)
  const raw = await res.text()
  const blocks = raw.split('\n\n').filter((b) => b.startsWith('data: '))
  const done = blocks.at(-1) === 'data: [DONE]'
  const events = blocks.filter((b) => b !== 'data: [DONE]').map((b) => JSON.parse(b.slice(6)))
  return { events, done, raw }
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}
