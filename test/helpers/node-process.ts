import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { tempDir } from './temp-dir'

export const CLI = resolve(import.meta.dirname, '../../dist/cli.js')

export interface NodeProcess {
  /** performance.now() when the process was spawned, and when its API file appeared (node up). */
  spawnedAt: number
  upAt: number
  dataDir: string
  apiUrl: string
  peerId: string
  multiaddr: string
  proc: ChildProcess
  logs: () => string
  /** Calls `listener` with each whole line the node prints from now on (the kept `logs` are capped). */
  onLine(listener: (line: string) => void): void
  get(path: string): Promise<any>
  post(path: string, body?: unknown): Promise<Response>
  kill(signal?: NodeJS.Signals): Promise<void>
}

const running = new Set<NodeProcess>()

export interface StartNodeOptions {
  args?: string[]
  dataDir?: string
  bootstrap?: string[]
  /** Added to the environment; an undefined value removes the variable. */
  env?: Record<string, string | undefined>
  timeoutMs?: number
  /** The built CLI to run (default: this checkout's dist/cli.js). */
  cli?: string
  /** Keep only the last this many characters of the output (long runs of many nodes). */
  logChars?: number
}

/** Starts `meshwork start` as a real OS process on loopback; resolves once its API answers. */
export async function startNode(options: StartNodeOptions = {}): Promise<NodeProcess> {
  const cli = options.cli ?? CLI
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run 'npm run build' first`)
  const dataDir = options.dataDir ?? tempDir('meshwork-test-')
  const args = [
    cli,
    'start',
    '--data-dir',
    dataDir,
    '--api-port',
    '0',
    '--p2p-port',
    '0',
    '--p2p-host',
    '127.0.0.1',
    '--no-mdns',
    '--address-scope',
    'loopback',
    ...(options.bootstrap ?? []).flatMap((b) => ['--bootstrap', b]),
    ...(options.args ?? [])
  ]
  const apiFile = join(dataDir, 'api.json')
  await rm(apiFile, { force: true })
  const spawnedAt = performance.now()
  const proc = spawn(process.execPath, args, {
    env: { ...process.env, MESHWORK_ADVERT_INTERVAL_MS: '1000', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  const lineListeners: Array<(line: string) => void> = []
  const partial = { stdout: '', stderr: '' }
  const appendFrom =
    (stream: keyof typeof partial) =>
    (d: Buffer): void => {
      const text = d.toString()
      output += text
      if (options.logChars !== undefined) output = output.slice(-options.logChars)
      if (lineListeners.length === 0) return
      const lines = (partial[stream] + text).split('\n')
      partial[stream] = lines.pop() ?? ''
      for (const line of lines) for (const listener of lineListeners) listener(line)
    }
  proc.stdout?.on('data', appendFrom('stdout'))
  proc.stderr?.on('data', appendFrom('stderr'))
  const deadline = Date.now() + (options.timeoutMs ?? 120_000)
  while (!existsSync(apiFile)) {
    if (proc.exitCode !== null) throw new Error(`node exited with ${proc.exitCode}:\n${output}`)
    if (Date.now() > deadline) {
      proc.kill('SIGKILL')
      throw new Error(`node did not start in time:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  const upAt = performance.now()
  const api = JSON.parse(readFileSync(apiFile, 'utf8'))
  // a node started with --api-key writes it to api.json (as the CLI subcommands read it)
  const auth: Record<string, string> = api.apiKey ? { authorization: `Bearer ${api.apiKey}` } : {}
  // from api.json, not /api/status: a node that serves nothing detects its hardware on that request
  const multiaddrs = (api.multiaddrs as string[] | undefined) ?? []
  if (multiaddrs.length === 0) throw new Error(`api.json lists no p2p address:\n${output}`)
  const node: NodeProcess = {
    spawnedAt,
    upAt,
    dataDir,
    apiUrl: api.apiUrl,
    peerId: api.peerId,
    multiaddr: multiaddrs[0],
    proc,
    logs: () => output,
    onLine: (listener) => lineListeners.push(listener),
    get: async (path) => (await fetch(api.apiUrl + path, { headers: auth })).json(),
    post: (path, body = {}) =>
      fetch(api.apiUrl + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify(body)
      }),
    kill: async (signal = 'SIGTERM') => {
      running.delete(node)
      if (proc.exitCode !== null || proc.signalCode !== null) return
      const exited = new Promise((r) => proc.once('exit', r))
      proc.kill(signal)
      const timer = setTimeout(() => proc.kill('SIGKILL'), 25_000)
      await exited
      clearTimeout(timer)
    }
  }
  running.add(node)
  return node
}

/** Kills every node a test started (use in afterEach/afterAll, pass or fail). */
export async function killAllNodes(): Promise<void> {
  await Promise.all([...running].map((n) => n.kill('SIGKILL')))
}
