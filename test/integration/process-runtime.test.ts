import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createProcessRuntime } from '../../electron/core/runtime/create'
import type { ResolvedModel } from '../../electron/core/runtime/models/types'
import type { SupervisedRuntime } from '../../electron/core/runtime/supervisor'
import { alive, bundle, bundleWorker, streamCompletion, testComponents, tinyModel } from '../helpers/runtime'
import { waitFor } from '../helpers/wait'

const dir = mkdtempSync(join(tmpdir(), 'meshwork-process-rt-'))
let workerEntry: string
let model: ResolvedModel
let runtime: SupervisedRuntime | undefined
const children: ChildProcess[] = []

beforeAll(async () => {
  workerEntry = await bundleWorker()
  model = await tinyModel(join(dir, 'models'))
})

afterAll(async () => {
  await runtime?.stop()
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await rm(dir, { recursive: true, force: true })
})

describe('process runtime', () => {
  it('starts the worker as a child process and serves the model', async () => {
    const components = testComponents('process-test', [model], dir)
    const statuses: string[] = []
    components.events.on('runtime:status', (s) => statuses.push(s.state))
    runtime = createProcessRuntime(components, { paths: { workerEntry }, healthIntervalMs: 500, restartBaseMs: 100 })
    await runtime.start()
    expect(runtime.status()).toMatchObject({ kind: 'process', state: 'ready' })
    expect(statuses).toEqual(['starting', 'ready'])
    const endpoint = runtime.endpoint()!
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(runtime.models()).toEqual([
      { name: 'meshwork-tiny', sha256: model.sha256, params: model.params, contextLength: model.contextLength }
    ])
    const auth = { authorization: `Bearer ${runtime.token()}` }
    const list = (await (await fetch(`${endpoint}/v1/models`, { headers: auth })).json()) as {
      data: Array<{ id: string }>
    }
    expect(list.data.map((m) => m.id)).toContain('meshwork-tiny')
    const reply = await streamCompletion(
      endpoint,
      {
        model: 'meshwork-tiny',
        prompt: 'Hello',
        max_tokens: 12,
        temperature: 0
      },
      undefined,
      runtime.token()
    )
    expect(reply.tokenIds.length).toBe(12)
    expect(reply.text.length).toBeGreaterThan(0)
  })

  it('replaces a worker that was killed from outside', async () => {
    const before = Number(runtime!.workerId())
    process.kill(before, 'SIGKILL')
    await waitFor(() => runtime!.restartCount === 1 && runtime!.status().state === 'ready', 30_000, {
      what: 'a replacement worker'
    })
    const after = Number(runtime!.workerId())
    expect(after).not.toBe(before)
    expect(alive(before)).toBe(false)
    const reply = await streamCompletion(
      runtime!.endpoint()!,
      {
        model: 'meshwork-tiny',
        prompt: 'Again',
        max_tokens: 4,
        temperature: 0
      },
      undefined,
      runtime!.token()
    )
    expect(reply.tokenIds.length).toBe(4)
  })

  it('stop() ends the worker and suspend/resume restart it', async () => {
    await runtime!.suspend()
    expect(runtime!.status().state).toBe('paused')
    expect(runtime!.endpoint()).toBeUndefined()
    await runtime!.resume()
    expect(runtime!.status().state).toBe('ready')
    const pid = Number(runtime!.workerId())
    await runtime!.stop()
    expect(runtime!.status().state).toBe('stopped')
    expect(alive(pid)).toBe(false)
    runtime = undefined
  })

  it('the worker exits by itself when its parent node is SIGKILLed', async () => {
    const parentScript = await bundle('test/fixtures/runtime/parent.ts', 'parent/parent.js')
    const parent = spawn(process.execPath, [parentScript, workerEntry, JSON.stringify(model), dir], {
      stdio: ['ignore', 'pipe', 'inherit']
    })
    children.push(parent)
    const line = await new Promise<string>((resolve, reject) => {
      let out = ''
      parent.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        if (out.includes('\n')) resolve(out.split('\n')[0])
      })
      parent.once('exit', (code) => reject(new Error(`parent exited early (${code})`)))
    })
    const { state, workerPid } = JSON.parse(line) as { state: string; workerPid: number }
    expect(state).toBe('ready')
    expect(alive(workerPid)).toBe(true)
    parent.kill('SIGKILL')
    await waitFor(() => !alive(workerPid), 15_000, { what: 'the orphaned worker to exit' })
  })
})
