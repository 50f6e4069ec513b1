import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dashboardPath, isApiPath } from '../../electron/core/api/static-routes'
import { rawRequest, type RawRequest, type RawResponse } from '../helpers/raw-http'
import { killAllNodes, startNode, type NodeProcess } from '../helpers/node-process'

// Random methods, targets, headers and bodies over raw sockets (no client normalises anything) against
// one real node started with --api-key, bounded in time. Without the key nothing but the dashboard's
// static files may answer 2xx; the node must stay up, unpaused, and its memory bounded.

const KEY = 'sk-fuzz-key-0123456789abcdef'
const MIN_REQUESTS = Number(process.env.MESHWORK_FUZZ_REQUESTS ?? 10_000)
const TIME_BUDGET_MS = 55_000
const CONCURRENCY = 8
const SEED = Number(process.env.MESHWORK_FUZZ_SEED ?? Date.now() % 2 ** 31)

let node: NodeProcess
let port: number

beforeAll(async () => {
  // a capped heap makes "memory bounded" testable: V8 grows lazily below the cap, a leak would crash the node
  node = await startNode({ args: ['--api-key', KEY, '--no-serve'], env: { NODE_OPTIONS: '--max-old-space-size=160' } })
  port = Number(new URL(node.apiUrl).port)
})
afterAll(() => killAllNodes())

/** mulberry32: a seeded generator, so a failing run can be replayed with MESHWORK_FUZZ_SEED. */
function generator(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const PROTECTED = [
  '/v1/models',
  '/v1/chat/completions',
  '/v1/completions',
  '/api/status',
  '/api/peers',
  '/api/pause',
  '/api/resume',
  '/api/events',
  '/api/earnings',
  '/api/ipc/status:get',
  '/api/ipc/earning:pause',
  '/api/ipc/settings:get',
  '/metrics'
]
const METHODS = [
  'GET',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'get',
  'PoSt',
  'PROPFIND',
  'X',
  'GET\t'
]
const STATIC_TYPES = /^(text\/html|text\/javascript|text\/css|image\/|font\/|application\/octet-stream|text\/plain)/

function fuzzer(random: () => number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]
  const chance = (p: number): boolean => random() < p
  const junk = (n: number): string =>
    Array.from({ length: n }, () => String.fromCharCode(33 + Math.floor(random() * 94))).join('')

  function encodeSome(path: string): string {
    return [...path]
      .map((c) =>
        c !== '/' && chance(0.3)
          ? '%' + c.charCodeAt(0).toString(16).padStart(2, '0')[chance(0.5) ? 'toUpperCase' : 'toLowerCase']()
          : c
      )
      .join('')
  }

  function mutate(path: string): string {
    let p = path
    const steps = 1 + Math.floor(random() * 3)
    for (let i = 0; i < steps; i++) {
      const parts = p.split('/')
      const at = 1 + Math.floor(random() * Math.max(1, parts.length - 1))
      switch (Math.floor(random() * 14)) {
        case 0:
          p = encodeSome(p)
          break
        case 1:
          p = p.replace('/', '//')
          break
        case 2:
          parts.splice(at, 0, '.')
          p = parts.join('/')
          break
        case 3:
          parts.splice(at, 0, pick(['x', 'assets', '%2e%2e', '..']), '..')
          p = parts.join('/')
          break
        case 4:
          p = p + pick(['/', '?', '?x=1', '#f', ';x', '%00', '/.', '/..', '%2f', '\\', '?a=/api/status'])
          break
        case 5:
          p = p.replace(/[a-z]/, (c) => c.toUpperCase())
          break
        case 6:
          p = `http://${pick([`127.0.0.1:${port}`, 'evil.example', `localhost:${port}`, '[::1]'])}${p}`
          break
        case 7:
          p = p.replace(/\//g, chance(0.5) ? '%2F' : '\\')
          break
        case 8:
          p = '/' + junk(1 + Math.floor(random() * 40))
          break
        case 9:
          p = p.replace(/\/([^/]*)$/, '/%2e%2e/$1')
          break
        case 10:
          p = pick([
            '*',
            '',
            '/',
            '//',
            '/./',
            '/assets/x.js',
            '/index.html',
            '/%',
            '/%zz',
            '/\u00e9',
            '/' + 'a'.repeat(3000)
          ])
          break
        case 11:
          p = p.replace('/', '/./')
          break
        case 12:
          p = '/' + '../'.repeat(1 + Math.floor(random() * 4)) + p.replace(/^\//, '')
          break
        default:
          p = encodeURI(p).replace(/%25/g, '%')
          break
      }
    }
    // raw socket: keep the request line itself parseable more often than not
    return chance(0.9) ? p.replace(/[\s]/g, '%20') : p
  }

  function headers(): Record<string, string> {
    const h: Record<string, string> = {}
    h.host = pick([
      `127.0.0.1:${port}`,
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      'evil.example',
      `127.0.0.1:${port + 1}`,
      ''
    ])
    if (h.host === '') delete h.host
    if (chance(0.6))
      h['content-type'] = pick([
        'application/json',
        'application/json; charset=utf-8',
        'text/plain',
        'APPLICATION/JSON',
        'multipart/form-data',
        junk(8)
      ])
    if (chance(0.5))
      h.authorization = pick([
        `Bearer ${KEY}x`,
        `Bearer ${KEY.slice(1)}`,
        'Bearer ',
        `bearer ${junk(20)}`,
        `Basic ${KEY}`,
        KEY,
        `Bearer ${KEY.toUpperCase()}`,
        `Bearer\t${KEY}x`,
        junk(30)
      ])
    if (chance(0.2)) h.origin = pick(['http://evil.example', `http://127.0.0.1:${port}`, 'null', junk(10)])
    if (chance(0.1)) h['x-' + junk(5).replace(/[^a-z]/gi, 'a')] = junk(50)
    if (chance(0.05)) h['transfer-encoding'] = 'chunked'
    if (chance(0.03)) h['content-length'] = String(Math.floor(random() * 100))
    if (chance(0.02)) h.expect = '100-continue'
    return h
  }

  function body(): string | undefined {
    switch (Math.floor(random() * 7)) {
      case 0:
        return undefined
      case 1:
        return '{}'
      case 2:
        return JSON.stringify({
          model: 'meshwork-tiny',
          messages: [{ role: 'user', content: junk(30) }],
          stream: chance(0.5)
        })
      case 3:
        return JSON.stringify({ model: junk(8), prompt: junk(20), max_tokens: Math.floor(random() * 10) })
      case 4:
        return junk(Math.floor(random() * 2000))
      case 5:
        return '{"a":' + '['.repeat(Math.floor(random() * 500))
      default:
        return 'x'.repeat(Math.floor(random() * 65_536))
    }
  }

  return (): RawRequest => {
    const req: RawRequest = {
      method: pick(METHODS),
      target: mutate(pick(PROTECTED)),
      headers: headers(),
      timeoutMs: 3000
    }
    const b = body()
    if (b !== undefined) {
      req.body = b
      if (req.headers!['transfer-encoding'] === 'chunked')
        req.body = `${Buffer.byteLength(b).toString(16)}\r\n${b}\r\n0\r\n\r\n`
    }
    return req
  }
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))
  return Math.round(Number(line?.replace(/\D+/g, '') ?? 0) / 1024)
}

/** A 2xx without the key is allowed only from the dashboard's static files, for a path that is not the API. */
function leak(req: RawRequest, res: RawResponse): string | undefined {
  if (res.status < 200 || res.status > 299) return undefined
  const clean = dashboardPath(req.target)
  const type = res.headers['content-type'] ?? ''
  if (
    clean !== undefined &&
    !isApiPath(clean) &&
    STATIC_TYPES.test(type) &&
    !/"object":"list"|"peerId"|# HELP/.test(res.body)
  )
    return undefined
  return `${req.method} ${req.target.slice(0, 120)} → ${res.status} ${type}: ${res.body.slice(0, 120)}`
}

describe('HTTP API fuzz', () => {
  it(`answers ≥ ${MIN_REQUESTS} random requests without the key with no 2xx on a protected route, and stays up with bounded memory`, async () => {
    const next = fuzzer(generator(SEED))
    const pid = node.proc.pid!
    // warm up, then take the baseline
    for (let i = 0; i < 200; i++) await rawRequest(port, next())
    const baseline = rssMb(pid)
    const samples = [baseline]
    const statuses = new Map<number, number>()
    const leaks: string[] = []
    const errors = new Map<string, number>()
    let sent = 0
    let fuzzed = 0
    let controls = 0
    let withKeyOk = 0
    const started = Date.now()
    const deadline = started + TIME_BUDGET_MS
    const sampler = setInterval(() => samples.push(rssMb(pid)), 1000)

    async function worker(): Promise<void> {
      while (Date.now() < deadline && (fuzzed < MIN_REQUESTS || Date.now() - started < 5_000)) {
        sent++
        if (sent % 50 === 0) {
          controls++
          // a control with the right key: the fuzzed spellings do reach the handlers
          const res = await rawRequest(port, {
            method: 'GET',
            target: '/%761/models',
            headers: { authorization: `Bearer ${KEY}` }
          })
          if (res.status === 200) withKeyOk++
          continue
        }
        const req = next()
        fuzzed++
        const res = await rawRequest(port, req)
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
        if (res.error) errors.set(res.error, (errors.get(res.error) ?? 0) + 1)
        const found = leak(req, res)
        if (found) leaks.push(found)
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
    clearInterval(sampler)
    const elapsed = Date.now() - started
    samples.push(rssMb(pid))

    const status = await node.get('/api/status')
    const summary = {
      seed: SEED,
      requests: fuzzed,
      controls,
      seconds: Math.round(elapsed / 100) / 10,
      statuses: Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])),
      socketErrors: Object.fromEntries(errors),
      controlsWithKeyOk: withKeyOk,
      rssMb: { baseline, max: Math.max(...samples), end: samples.at(-1) }
    }
    console.log('api fuzz', JSON.stringify(summary))
    expect(leaks, `seed ${SEED}`).toEqual([])
    expect(fuzzed).toBeGreaterThanOrEqual(MIN_REQUESTS)
    expect(elapsed).toBeLessThan(60_000)
    expect(withKeyOk).toBe(controls)
    expect(node.proc.exitCode).toBeNull()
    expect(status.paused).toBe(false)
    expect(node.logs()).not.toMatch(/uncaught|unhandled/i)
    expect(Math.max(...samples) - baseline, JSON.stringify(summary.rssMb)).toBeLessThan(100)
  })
})
