import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { benchmarkModel } from '../../electron/core/runtime/benchmark/benchmark'
import {
  benchmarkFingerprint,
  benchmarksPath,
  ensureBenchmarks
} from '../../electron/core/runtime/benchmark/benchmark-cache'
import type { HardwareProfile } from '../../shared/hardware'
import type { ServedModel } from '../../shared/models'

// A small OpenAI-compatible streaming server: it paces tokens with real timers, so what the
// benchmark measures comes from the clock, and it records every request body it gets.
interface Mode {
  firstTokenMs: number
  tokenMs: number
  timings: boolean
  usage: boolean
}
let mode: Mode = { firstTokenMs: 40, tokenMs: 5, timings: false, usage: true }
const bodies: Array<Record<string, unknown>> = []
let server: Server
let endpoint: string
const dataDir = mkdtempSync(join(tmpdir(), 'meshwork-bench-'))

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = ''
  for await (const chunk of req) text += chunk
  return JSON.parse(text) as Record<string, unknown>
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/completions') return res.writeHead(404).end()
    const body = await readBody(req)
    bodies.push(body)
    if (body.model !== 'tiny') {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: 'no such model', code: 'model_not_found' } }))
      return
    }
    const n = Number(body.max_tokens)
    const promptTokens = String(body.prompt).length
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`)
    await sleep(mode.firstTokenMs)
    for (let i = 0; i < n; i++) {
      if (i > 0) await sleep(mode.tokenMs)
      send({ id: 'c', object: 'text_completion', choices: [{ index: 0, text: 'ab'[i % 2], finish_reason: null }] })
    }
    const final: Record<string, unknown> = {
      id: 'c',
      object: 'text_completion',
      choices: [{ index: 0, text: '', finish_reason: 'length' }]
    }
    if (mode.timings)
      final.timings = { prompt_n: promptTokens, prompt_ms: promptTokens / 4, predicted_n: n, predicted_ms: n * 2.5 }
    send(final)
    if (mode.usage)
      send({
        id: 'c',
        object: 'text_completion',
        choices: [],
        usage: { prompt_tokens: promptTokens, completion_tokens: n, total_tokens: promptTokens + n }
      })
    res.end('data: [DONE]\n\n')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise((r) => server.close(r))
  rmSync(dataDir, { recursive: true, force: true })
})

const hardware: HardwareProfile = { gpus: [], cpu: { brand: 'Test CPU', cores: 2 }, memoryMB: 4096, os: 'linux' }
const model: ServedModel = { name: 'tiny', sha256: 'a'.repeat(64), params: 1_000_000 }

describe('benchmarkModel', () => {
  it('measures from arrival times when the server sends no timings', async () => {
    mode = { firstTokenMs: 60, tokenMs: 8, timings: false, usage: true }
    bodies.length = 0
    const events: Array<{ fraction?: number }> = []
    const result = await benchmarkModel(
      endpoint,
      { name: 'tiny', params: 1_000_000 },
      { runs: 3, maxTokens: 24, onProgress: (e) => events.push(e) }
    )
    // tokens are 8 ms apart (timers only ever fire late), the first after at least 60 ms
    expect(result.decodeTokensPerSecond).toBeLessThanOrEqual(1000 / 8 + 1)
    expect(result.decodeTokensPerSecond).toBeGreaterThan(1000 / 8 / 3)
    expect(result.ttftMs).toBeGreaterThanOrEqual(59)
    expect(result.prefillTokensPerSecond).toBeCloseTo((String(bodies[1].prompt).length * 1000) / result.ttftMs, -1)
    expect(result.gflops).toBeCloseTo((2 * 1_000_000 * result.decodeTokensPerSecond) / 1e9, 2)
    expect(result).toMatchObject({ runs: 3, method: 'wallclock' })
    expect(result.spread).toBeGreaterThanOrEqual(0)
    // one warm-up + 3 runs, all greedy and streamed, each prompt distinct so no cache can answer it
    expect(bodies).toHaveLength(4)
    expect(bodies.every((b) => b.temperature === 0 && b.stream === true)).toBe(true)
    expect(new Set(bodies.map((b) => b.prompt)).size).toBe(4)
    expect(events.at(-1)?.fraction).toBe(1)
    expect(events.map((e) => e.fraction)).toEqual([...events.map((e) => e.fraction)].sort())
  })

  it('prefers the server timings when the final chunk carries them', async () => {
    mode = { firstTokenMs: 5, tokenMs: 1, timings: true, usage: false }
    const result = await benchmarkModel(endpoint, { name: 'tiny', params: 2_000_000 }, { runs: 2, maxTokens: 16 })
    // the server reports prompt_ms = prompt_n / 4 and predicted_ms = 2.5 per token
    expect(result.prefillTokensPerSecond).toBe(4000)
    expect(result.decodeTokensPerSecond).toBe(400)
    expect(result.gflops).toBe(1.6)
    expect(result.spread).toBe(0)
    expect(result.method).toBe('timings')
  })

  it('fails clearly on an unknown model and on a dead endpoint', async () => {
    await expect(benchmarkModel(endpoint, { name: 'nope', params: 1 }, { runs: 1 })).rejects.toMatchObject({
      code: 'benchmark_failed',
      message: expect.stringContaining('404')
    })
    await expect(benchmarkModel('http://127.0.0.1:1', { name: 'tiny', params: 1 }, { runs: 1 })).rejects.toMatchObject({
      code: 'benchmark_failed'
    })
  })

  it('stops when aborted', async () => {
    mode = { firstTokenMs: 2_000, tokenMs: 1, timings: false, usage: true }
    const started = Date.now()
    await expect(
      benchmarkModel(endpoint, { name: 'tiny', params: 1 }, { runs: 1, signal: AbortSignal.timeout(100) })
    ).rejects.toThrow()
    expect(Date.now() - started).toBeLessThan(1_500)
  })
})

describe('ensureBenchmarks cache', () => {
  const base = () => ({ dataDir, endpoint, runtimeKind: 'process', hardware, models: [model], runs: 1, maxTokens: 8 })

  it('measures once, then answers from benchmarks.json until hardware, model or runtime change', async () => {
    mode = { firstTokenMs: 1, tokenMs: 1, timings: true, usage: true }
    bodies.length = 0
    const first = await ensureBenchmarks(base())
    expect(Object.keys(first)).toEqual(['tiny'])
    expect(bodies).toHaveLength(2)
    const file = JSON.parse(readFileSync(benchmarksPath(dataDir), 'utf8'))
    expect(Object.keys(file.entries)).toEqual([benchmarkFingerprint(hardware, model, 'process')])

    expect(await ensureBenchmarks(base())).toEqual(first)
    expect(bodies).toHaveLength(2)

    await ensureBenchmarks({ ...base(), models: [{ ...model, sha256: 'b'.repeat(64) }] })
    expect(bodies).toHaveLength(4)
    await ensureBenchmarks({ ...base(), runtimeKind: 'docker' })
    expect(bodies).toHaveLength(6)
    await ensureBenchmarks({
      ...base(),
      hardware: { ...hardware, gpus: [{ vendor: 'NVIDIA', model: 'NVIDIA GeForce RTX 4090', vramMB: 24564 }] }
    })
    expect(bodies).toHaveLength(8)
    // load figures are not part of the fingerprint
    await ensureBenchmarks({
      ...base(),
      hardware: {
        ...hardware,
        gpus: [
          {
            vendor: 'NVIDIA',
            model: 'NVIDIA GeForce RTX 4090',
            vramMB: 24564,
            utilizationPercent: 90,
            temperatureC: 80
          }
        ]
      }
    })
    expect(bodies).toHaveLength(8)
    await ensureBenchmarks({ ...base(), force: true })
    expect(bodies).toHaveLength(10)
  })

  it('ignores a corrupt cache file and leaves out a model that fails', async () => {
    writeFileSync(benchmarksPath(dataDir), '{"version":1,"entries":{"x":')
    bodies.length = 0
    const result = await ensureBenchmarks({
      ...base(),
      models: [model, { ...model, name: 'nope', sha256: 'c'.repeat(64) }]
    })
    expect(Object.keys(result)).toEqual(['tiny'])
    expect(bodies.length).toBeGreaterThanOrEqual(3)
  })
})
