import { spawn, type ChildProcess } from 'node:child_process'
import { expect } from 'vitest'
import { bundleWorker, ROOT } from '../helpers/runtime'

let bundled: Promise<string> | undefined

/** The worker bundle (built once per test file, from the current sources). */
export function workerBundle(): Promise<string> {
  bundled ??= bundleWorker()
  return bundled
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
export async function startWorker(
  args: string[],
  options: { stdin?: 'pipe' | 'ignore'; timeoutMs?: number } = {}
): Promise<RunningWorker> {
  const proc = spawn(process.execPath, [await workerBundle(), ...args], {
    cwd: ROOT,
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe']
  })
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

export async function postJson(
  base: string,
  path: string,
  body: unknown,
  init: RequestInit = {}
): Promise<{ status: number; headers: Headers; json: any }> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined }
}

/** POSTs a streaming request and returns every `data:` event (parsed) until [DONE]. */
export async function postStream(
  base: string,
  path: string,
  body: Record<string, unknown>
): Promise<{ events: any[]; done: boolean; raw: string }> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true })
  })
  if (res.status !== 200) throw new Error(`stream answered ${res.status}: ${await res.text()}`)
  const raw = await res.text()
  const blocks = raw.split('\n\n').filter((b) => b.startsWith('data: '))
  const done = blocks.at(-1) === 'data: [DONE]'
  const events = blocks.filter((b) => b !== 'data: [DONE]').map((b) => JSON.parse(b.slice(6)))
  return { events, done, raw }
}

/** Text and token ids of a streamed completion, chunk by chunk. */
export function pieces(events: any[]): { text: string; ids: number[] }[] {
  return events
    .filter((e) => e.choices.length > 0)
    .map((e) => ({ text: e.choices[0].text ?? e.choices[0].delta?.content ?? '', ids: e.choices[0].token_ids ?? [] }))
}

/**
 * Checks token-exact continuation against an uninterrupted run (`first`, streamed with token ids):
 * for each cut k, prompt ids + the first k ids with replay_tokens = k, and the same `sampling`
 * fields, must produce exactly the rest.
 */
export async function checkContinuation(
  base: string,
  model: string,
  first: { events: any[] },
  total: number,
  cuts: number[],
  sampling: Record<string, unknown> = { temperature: 0 }
): Promise<void> {
  const promptIds: number[] = first.events[0].prompt_token_ids
  expect(promptIds.length).toBeGreaterThan(0)
  const parts = pieces(first.events).filter((p) => p.ids.length > 0)
  const ids = parts.flatMap((p) => p.ids)
  const text = parts.map((p) => p.text).join('')
  expect(ids).toHaveLength(total)
  for (const k of cuts) {
    // cut at a chunk boundary, as a router would
    let emitted: number[] = []
    let emittedText = ''
    for (const p of parts) {
      if (emitted.length + p.ids.length > k) break
      emitted = [...emitted, ...p.ids]
      emittedText += p.text
    }
    const cont = await postStream(base, '/v1/completions', {
      ...sampling,
      model,
      prompt: [...promptIds, ...emitted],
      replay_tokens: emitted.length,
      max_tokens: total - emitted.length,
      return_token_ids: true
    })
    expect(cont.events[0].prompt_token_ids).toEqual([...promptIds, ...emitted])
    expect(cont.events[0].meshwork_approximate).toBeUndefined()
    const rest = pieces(cont.events)
    expect(
      rest.flatMap((p) => p.ids),
      `${model} cut at ${k}`
    ).toEqual(ids.slice(emitted.length))
    expect(emittedText + rest.map((p) => p.text).join(''), `${model} cut at ${k}`).toBe(text)
  }
}
