import { spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuiltinModel } from '../../electron/core/runtime/models/builtin'
import type { ResolvedModel } from '../../electron/core/runtime/models/types'
import { waitFor } from '../helpers/wait'
import {
  checkContinuation,
  getJson,
  killAllWorkers,
  pieces,
  postJson,
  postStream,
  startWorker,
  workerBundle,
  type RunningWorker
} from './worker-helpers'

const MODELS_DIR = join(tmpdir(), 'meshwork-test-models')
let tiny: ResolvedModel
let small: ResolvedModel
let worker: RunningWorker
let workerJs: string

beforeAll(async () => {
  workerJs = await workerBundle()
  tiny = await ensureBuiltinModel('meshwork-tiny', MODELS_DIR)
  small = await ensureBuiltinModel('meshwork-small', MODELS_DIR)
  worker = await startWorker([
    '--model',
    `meshwork-tiny=${tiny.path}`,
    '--model',
    `meshwork-small=${small.path}`,
    '--threads',
    '1',
    '--gpu',
    'false'
  ])
})

afterAll(() => killAllWorkers())

describe('worker endpoints', () => {
  it('GET /health and GET /v1/models list the served models', async () => {
    const health = await getJson(worker.base + '/health')
    expect(health).toMatchObject({ status: 'ok', models: ['meshwork-tiny', 'meshwork-small'] })
    const models = await getJson(worker.base + '/v1/models')
    expect(models.object).toBe('list')
    expect(models.data.map((m: { id: string }) => m.id)).toEqual(['meshwork-tiny', 'meshwork-small'])
    expect(models.data[0]).toMatchObject({ object: 'model', owned_by: 'meshwork', context_length: 4096 })
  })

  it('POST /v1/completions: greedy output of the full length, usage and timings, deterministic', async () => {
    const body = {
      model: 'meshwork-tiny',
      prompt: 'The weather today',
      max_tokens: 48,
      temperature: 0,
      return_token_ids: true
    }
    const a = await postJson(worker.base, '/v1/completions', body)
    expect(a.status).toBe(200)
    expect(a.json).toMatchObject({
      object: 'text_completion',
      model: 'meshwork-tiny',
      choices: [{ index: 0, finish_reason: 'length' }]
    })
    const choice = a.json.choices[0]
    expect(choice.text).toMatch(/^[\x20-\x7e]+$/)
    expect(choice.token_ids).toHaveLength(48)
    expect(a.json.prompt_token_ids[0]).toBe(1) // BOS
    expect(a.json.usage).toEqual({
      prompt_tokens: a.json.prompt_token_ids.length,
      completion_tokens: 48,
      total_tokens: a.json.prompt_token_ids.length + 48
    })
    expect(a.json.timings).toMatchObject({ prompt_n: a.json.prompt_token_ids.length, predicted_n: 48 })
    expect(a.json.timings.predicted_ms).toBeGreaterThan(0)
    const b = await postJson(worker.base, '/v1/completions', body)
    expect(b.json.choices[0].text).toBe(choice.text)
  })

  it('streams completions as SSE whose chunks add up to the non-streamed answer', async () => {
    const body = {
      model: 'meshwork-tiny',
      prompt: 'Streaming test',
      max_tokens: 40,
      temperature: 0,
      return_token_ids: true
    }
    const whole = (await postJson(worker.base, '/v1/completions', body)).json
    const { events, done } = await postStream(worker.base, '/v1/completions', {
      ...body,
      stream_options: { include_usage: true }
    })
    expect(done).toBe(true)
    expect(events[0].prompt_token_ids).toEqual(whole.prompt_token_ids)
    const parts = pieces(events)
    expect(parts.map((p) => p.text).join('')).toBe(whole.choices[0].text)
    expect(parts.flatMap((p) => p.ids)).toEqual(whole.choices[0].token_ids)
    const finish = events.find((e) => e.choices[0]?.finish_reason)
    expect(finish.choices[0].finish_reason).toBe('length')
    expect(finish.usage.completion_tokens).toBe(40)
    expect(finish.timings.predicted_n).toBe(40)
    const last = events.at(-1)
    expect(last.choices).toEqual([])
    expect(last.usage).toEqual(whole.usage)
    for (const e of events)
      expect(e).toMatchObject({ id: events[0].id, object: 'text_completion', model: 'meshwork-tiny' })
  })

  it('chat completions, streamed and not, return the templated prompt ids and agree', async () => {
    const body = {
      model: 'meshwork-tiny',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'Say something' }] }
      ],
      max_tokens: 30,
      temperature: 0,
      return_token_ids: true
    }
    const whole = await postJson(worker.base, '/v1/chat/completions', body)
    expect(whole.status).toBe(200)
    expect(whole.json).toMatchObject({
      object: 'chat.completion',
      choices: [{ message: { role: 'assistant' }, finish_reason: 'length' }]
    })
    expect(whole.json.choices[0].message.content.length).toBeGreaterThanOrEqual(30)
    expect(whole.json.usage.prompt_tokens).toBe(whole.json.prompt_token_ids.length)

    const { events, done } = await postStream(worker.base, '/v1/chat/completions', body)
    expect(done).toBe(true)
    expect(events[0]).toMatchObject({ object: 'chat.completion.chunk', prompt_token_ids: whole.json.prompt_token_ids })
    const parts = pieces(events)
    // the role and the prompt's ids leave with the first token, in one event
    expect(events[0].choices[0].delta).toEqual({ role: 'assistant', content: parts[0].text })
    expect(parts[0].ids.length).toBeGreaterThan(0)
    expect(parts.map((p) => p.text).join('')).toBe(whole.json.choices[0].message.content)
    expect(parts.flatMap((p) => p.ids)).toEqual(whole.json.choices[0].token_ids)
    expect(events.at(-1).choices[0]).toMatchObject({ delta: {}, finish_reason: 'length' })
    expect(events.at(-1).usage).toEqual(whole.json.usage)
  })

  it('works with the official openai SDK, streaming and not', async () => {
    const client = new OpenAI({ baseURL: worker.base + '/v1', apiKey: 'unused', maxRetries: 0 })
    const list = await client.models.list()
    expect(list.data.map((m) => m.id)).toContain('meshwork-tiny')
    const chat = await client.chat.completions.create({
      model: 'meshwork-tiny',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 12,
      temperature: 0
    })
    expect(chat.choices[0].message.content!.length).toBeGreaterThan(0)
    expect(chat.usage?.completion_tokens).toBe(12)
    const stream = await client.chat.completions.create({
      model: 'meshwork-tiny',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 12,
      temperature: 0,
      stream: true
    })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
    expect(text).toBe(chat.choices[0].message.content)
    const completion = await client.completions.create({
      model: 'meshwork-tiny',
      prompt: 'abc',
      max_tokens: 5,
      temperature: 0
    })
    expect(completion.choices[0].finish_reason).toBe('length')
  })

  it('greedy output does not depend on what else runs at the same time', async () => {
    const body = (prompt: string) => ({ model: 'meshwork-small', prompt, max_tokens: 40, temperature: 0 })
    const alone = (await postJson(worker.base, '/v1/completions', body('Concurrency'))).json.choices[0].text
    const [a, b] = await Promise.all([
      postJson(worker.base, '/v1/completions', body('Concurrency')),
      postJson(worker.base, '/v1/completions', body('Another prompt entirely, running alongside'))
    ])
    expect(a.json.choices[0].text).toBe(alone)
    expect(b.json.choices[0].text).not.toBe(alone)
  })

  it('sampling with a seed is reproducible and differs from greedy', async () => {
    const body = { model: 'meshwork-tiny', prompt: 'Seeded', max_tokens: 40, temperature: 1.2, top_p: 0.9, seed: 7 }
    const a = (await postJson(worker.base, '/v1/completions', body)).json.choices[0].text
    const b = (await postJson(worker.base, '/v1/completions', body)).json.choices[0].text
    const greedy = (await postJson(worker.base, '/v1/completions', { ...body, temperature: 0 })).json.choices[0].text
    expect(a).toBe(b)
    expect(a).not.toBe(greedy)
  })

  it('stops at a stop string even when it spans chunks, streamed and not', async () => {
    const base = {
      model: 'meshwork-tiny',
      prompt: 'Stop strings',
      max_tokens: 80,
      temperature: 0,
      return_token_ids: true
    }
    const { events } = await postStream(worker.base, '/v1/completions', base)
    const parts = pieces(events).filter((p) => p.text.length > 0)
    const full = parts.map((p) => p.text).join('')
    // a stop string made of the end of chunk 10 and the start of chunk 11
    const before = parts
      .slice(0, 10)
      .map((p) => p.text)
      .join('')
    const stop = parts[9].text.slice(-1) + parts[10].text.slice(0, 2)
    const cut = full.indexOf(stop)
    expect(cut).toBeGreaterThanOrEqual(0)
    expect(cut).toBeLessThan(before.length)

    const plain = await postJson(worker.base, '/v1/completions', { ...base, stop: ['@@never@@', stop] })
    expect(plain.json.choices[0]).toMatchObject({ text: full.slice(0, cut), finish_reason: 'stop' })
    const streamed = await postStream(worker.base, '/v1/completions', { ...base, stop })
    const got = pieces(streamed.events)
    expect(got.map((p) => p.text).join('')).toBe(full.slice(0, cut))
    expect(streamed.events.find((e) => e.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('stop')
    // every chunk carries whole tokens: the ids of the streamed text are a prefix of the full run
    const ids = got.flatMap((p) => p.ids)
    expect(ids).toEqual(parts.flatMap((p) => p.ids).slice(0, ids.length))
  })
})

describe('token-exact continuation', () => {
  it('completions on meshwork-small continue byte-identically at several cut points', async () => {
    for (const prompt of ['Once upon a time', 'Meshwork turns idle GPUs into a network']) {
      const first = await postStream(worker.base, '/v1/completions', {
        model: 'meshwork-small',
        prompt,
        max_tokens: 90,
        temperature: 0,
        return_token_ids: true
      })
      await checkContinuation(worker.base, 'meshwork-small', first, 90, [1, 6, 33, 89])
    }
  })

  it('chat on meshwork-small continues through /v1/completions with the templated prompt ids', async () => {
    const first = await postStream(worker.base, '/v1/chat/completions', {
      model: 'meshwork-small',
      messages: [{ role: 'user', content: 'Tell me a story about a GPU' }],
      max_tokens: 80,
      temperature: 0,
      return_token_ids: true
    })
    await checkContinuation(worker.base, 'meshwork-small', first, 80, [2, 17, 50, 79])
  })

  it('completions on meshwork-tiny continue exactly too', async () => {
    const first = await postStream(worker.base, '/v1/completions', {
      model: 'meshwork-tiny',
      prompt: 'x',
      max_tokens: 120,
      temperature: 0,
      return_token_ids: true
    })
    await checkContinuation(worker.base, 'meshwork-tiny', first, 120, [3, 64, 119])
  })

  it('marks a continuation past the replay bound as approximate', async () => {
    const first = await postJson(worker.base, '/v1/completions', {
      model: 'meshwork-tiny',
      prompt: 'long',
      max_tokens: 600,
      temperature: 0,
      return_token_ids: true
    })
    const prompt = [...first.json.prompt_token_ids, ...first.json.choices[0].token_ids]
    const cont = await postStream(worker.base, '/v1/completions', {
      model: 'meshwork-tiny',
      prompt,
      replay_tokens: 600,
      max_tokens: 5,
      temperature: 0,
      return_token_ids: true
    })
    expect(cont.events[0].meshwork_approximate).toBe(true)
    expect(pieces(cont.events).flatMap((p) => p.ids)).toHaveLength(5)
  })
})

describe('bad requests', () => {
  it('answers clear 4xx errors and stays up', async () => {
    const raw = async (body: string): Promise<{ status: number; json: any }> => {
      const res = await fetch(worker.base + '/v1/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body
      })
      return { status: res.status, json: await res.json() }
    }
    const malformed = await raw('{"prompt": "x",')
    expect(malformed.status).toBe(400)
    expect(malformed.json.error).toMatchObject({ code: 'invalid_json', type: 'invalid_request_error' })

    const cases: [unknown, number, string, RegExp][] = [
      [{ prompt: 42 }, 400, 'invalid_request', /prompt must be/],
      [{ prompt: 'x', max_tokens: 'ten' }, 400, 'invalid_request', /max_tokens/],
      [{ prompt: 'x', max_tokens: -5 }, 400, 'invalid_request', /max_tokens/],
      [{ prompt: 'x', temperature: 9 }, 400, 'invalid_request', /temperature/],
      [{ prompt: 'x', stream: 'yes' }, 400, 'invalid_request', /stream/],
      [{ prompt: [1, 2, -3] }, 400, 'invalid_request', /prompt/],
      [{ prompt: [1, 100000] }, 400, 'invalid_request', /outside the vocabulary/],
      [{ prompt: [1, 300], replay_tokens: 3 }, 400, 'invalid_request', /replay_tokens/],
      [{ prompt: [] }, 400, 'invalid_request', /prompt must be/],
      [{ prompt: 'x', model: 'gpt-9' }, 404, 'model_not_found', /gpt-9/],
      [{ prompt: 'x', n: 2 }, 400, 'invalid_request', /n = 1/],
      [{ prompt: 'x', stop: 7 }, 400, 'invalid_request', /stop/],
      [[1, 2], 400, 'invalid_request', /object/]
    ]
    for (const [body, status, code, message] of cases) {
      const res = await postJson(worker.base, '/v1/completions', body)
      expect(res.status, JSON.stringify(body)).toBe(status)
      expect(res.json.error.code, JSON.stringify(body)).toBe(code)
      expect(res.json.error.message, JSON.stringify(body)).toMatch(message)
    }
    const chat = await postJson(worker.base, '/v1/chat/completions', { messages: [{ role: 'wizard', content: 'x' }] })
    expect(chat.status).toBe(400)
    expect(chat.json.error.message).toMatch(/role/)

    const big = await postJson(worker.base, '/v1/completions', { prompt: 'a'.repeat(5 * 1024 * 1024) })
    expect(big.status).toBe(413)
    expect(big.json.error.code).toBe('body_too_large')

    const long = await postJson(worker.base, '/v1/completions', {
      model: 'meshwork-tiny',
      prompt: 'word '.repeat(3000)
    })
    expect(long.status).toBe(400)
    expect(long.json.error.code).toBe('context_length_exceeded')

    expect((await fetch(worker.base + '/v1/completions')).status).toBe(405)
    expect((await fetch(worker.base + '/nothing')).status).toBe(404)

    // still serving
    expect((await getJson(worker.base + '/health')).status).toBe('ok')
    const ok = await postJson(worker.base, '/v1/completions', {
      model: 'meshwork-tiny',
      prompt: 'still here',
      max_tokens: 4,
      temperature: 0
    })
    expect(ok.status).toBe(200)
    expect(worker.proc.exitCode).toBeNull()
  })
})

describe('queue, disconnects and shutdown', () => {
  it('answers 429 queue_full beyond --parallel + --max-queue, and a client disconnect frees the slot', async () => {
    const w = await startWorker([
      '--model',
      `meshwork-small=${small.path}`,
      '--parallel',
      '1',
      '--max-queue',
      '1',
      '--gpu',
      'false'
    ])
    const long = { model: 'meshwork-small', prompt: 'busy', max_tokens: 3000, temperature: 0, stream: true }
    const controllers = [new AbortController(), new AbortController()]
    const started = controllers.map((c) =>
      fetch(w.base + '/v1/completions', { method: 'POST', body: JSON.stringify(long), signal: c.signal }).catch(
        () => undefined
      )
    )
    await waitFor(
      async () => {
        const h = await getJson(w.base + '/health')
        return h.running === 1 && h.queued === 1 ? h : undefined
      },
      10_000,
      { what: 'one running and one queued request' }
    )
    const third = await postJson(w.base, '/v1/completions', { ...long, stream: false })
    expect(third.status).toBe(429)
    expect(third.json.error).toMatchObject({ code: 'queue_full', type: 'rate_limit_error' })
    expect(third.headers.get('retry-after')).toBe('1')

    for (const c of controllers) c.abort()
    await Promise.all(started)
    const idle = await waitFor(
      async () => {
        const h = await getJson(w.base + '/health')
        return h.running === 0 && h.queued === 0 ? h : undefined
      },
      10_000,
      { what: 'the aborted requests to free their slots' }
    )
    expect(idle.status).toBe('ok')
    const after = await postJson(w.base, '/v1/completions', {
      model: 'meshwork-small',
      prompt: 'free again',
      max_tokens: 3,
      temperature: 0
    })
    expect(after.status).toBe(200)
    w.proc.kill('SIGKILL')
  })

  it('SIGTERM finishes the in-flight stream, refuses new work and exits 0', async () => {
    const w = await startWorker(['--model', `meshwork-small=${small.path}`, '--gpu', 'false'])
    const res = await fetch(w.base + '/v1/completions', {
      method: 'POST',
      body: JSON.stringify({ model: 'meshwork-small', prompt: 'drain', max_tokens: 200, temperature: 0, stream: true })
    })
    const reader = res.body!.getReader()
    const first = await reader.read()
    expect(first.done).toBe(false)
    w.proc.kill('SIGTERM')
    let raw = new TextDecoder().decode(first.value)
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      raw += new TextDecoder().decode(value)
    }
    expect(raw.trimEnd().endsWith('data: [DONE]')).toBe(true)
    expect(raw).toContain('"finish_reason":"length"')
    expect(await w.exited).toEqual({ code: 0, signal: null })
    await expect(fetch(w.base + '/health')).rejects.toThrow()
  })

  it('exits by itself when its --parent-pid dies (even by SIGKILL) and when its stdin pipe closes', async () => {
    // a parent process that starts the worker with --parent-pid and then just waits
    const script = `
      const { spawn } = require('node:child_process')
      const w = spawn(process.execPath, [${JSON.stringify(workerJs)}, '--model', 'm=${tiny.path}', '--gpu', 'false', '--parent-pid', String(process.pid)], { stdio: ['ignore', 'pipe', 'inherit'] })
      w.stdout.on('data', (d) => { if (String(d).includes('MESHWORK_WORKER_READY')) console.log('CHILD ' + w.pid) })
      setInterval(() => {}, 1000)`
    const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] })
    let childPid = 0
    try {
      childPid = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('worker under the parent did not start')), 60_000)
        parent.stdout!.on('data', (d: Buffer) => {
          const m = String(d).match(/CHILD (\d+)/)
          if (m) {
            clearTimeout(timer)
            resolve(Number(m[1]))
          }
        })
      })
      parent.kill('SIGKILL')
      await waitFor(
        async () => {
          try {
            process.kill(childPid, 0)
            return undefined
          } catch {
            return true
          }
        },
        10_000,
        { what: 'the orphaned worker to exit' }
      )
    } finally {
      parent.kill('SIGKILL')
      if (childPid) {
        try {
          process.kill(childPid, 'SIGKILL')
        } catch {
          /* already gone */
        }
      }
    }

    const piped = await startWorker(['--model', `m=${tiny.path}`, '--gpu', 'false'], { stdin: 'pipe' })
    piped.proc.stdin!.end()
    expect(await piped.exited).toEqual({ code: 0, signal: null })
  })

  it('rejects bad command lines with a usage message and exit code 2', async () => {
    const run = (args: string[]): Promise<{ code: number | null; err: string }> =>
      new Promise((resolve) => {
        const p = spawn(process.execPath, [workerJs, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
        let err = ''
        p.stderr!.on('data', (d: Buffer) => (err += d))
        p.on('exit', (code) => resolve({ code, err }))
      })
    const none = await run([])
    expect(none.code).toBe(2)
    expect(none.err).toMatch(/--model <name>=<path.gguf>/)
    expect((await run(['--model', 'x=/a.gguf', '--parallel', 'lots'])).code).toBe(2)
    expect((await run(['--model', 'x=/a.gguf', '--frobnicate'])).code).toBe(2)
    const missing = await run(['--model', 'x=/does/not/exist.gguf', '--gpu', 'false'])
    expect(missing.code).toBe(1)
    expect(missing.err).toMatch(/failed to start/)
  })
})
