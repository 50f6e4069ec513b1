import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExternalRuntime, createRuntime } from '../../electron/core/runtime/create'
import type { ExternalRuntime } from '../../electron/core/runtime/external/external-runtime'
import type { ResolvedModel } from '../../electron/core/runtime/models/types'
import { bundleWorker, streamCompletion, testComponents, tinyModel } from '../helpers/runtime'
import { waitFor } from '../helpers/wait'

const dir = mkdtempSync(join(tmpdir(), 'meshwork-external-rt-'))
let workerEntry: string
let model: ResolvedModel
let worker: ChildProcess | undefined
let runtime: ExternalRuntime | undefined

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Our worker as a plain process, standing in for a server the owner runs themselves. */
async function startWorker(port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      workerEntry,
      '--model',
      `meshwork-tiny=${model.path}`,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--threads',
      '1',
      '--gpu',
      'false'
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit']
    }
  )
  await new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('MESHWORK_WORKER_READY')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`worker exited (${code})`)))
  })
  return child
}

beforeAll(async () => {
  workerEntry = await bundleWorker()
  model = await tinyModel(join(dir, 'models'))
})

afterAll(async () => {
  await runtime?.stop()
  if (worker && worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL')
  await rm(dir, { recursive: true, force: true })
})

describe('external runtime', () => {
  it('says clearly when the endpoint is unreachable, then serves it once it answers', async () => {
    const port = await freePort()
    const components = testComponents('external-test', [], dir)
    runtime = createExternalRuntime(`http://127.0.0.1:${port}/v1`, components, { recheckIntervalMs: 300 })
    await runtime.start()
    const down = runtime.status()
    expect(down).toMatchObject({ kind: 'external', state: 'unavailable', endpoint: `http://127.0.0.1:${port}` })
    expect(down.message).toContain('unreachable')
    expect(down.message).toContain('ECONNREFUSED')
    expect(runtime.endpoint()).toBeUndefined()
    expect(runtime.models()).toEqual([])

    worker = await startWorker(port)
    await waitFor(() => runtime!.status().state === 'ready', 10_000, { what: 'the external runtime to become ready' })
    expect(runtime.endpoint()).toBe(`http://127.0.0.1:${port}`)
    const served = runtime.models()
    expect(served.map((m) => m.name)).toEqual(['meshwork-tiny'])
    expect(served[0].sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(served[0].sha256).not.toBe(model.sha256) // unknown file: never paired with real providers
    expect(runtime.supportsTokenContinuation).toBe(true) // our worker answers the token-id extension
    const reply = await streamCompletion(runtime.endpoint()!, {
      model: 'meshwork-tiny',
      prompt: 'Hi',
      max_tokens: 6,
      temperature: 0
    })
    expect(reply.tokenIds.length).toBe(6)

    worker.kill('SIGTERM')
    await waitFor(() => runtime!.status().state === 'unavailable', 10_000, {
      what: 'the external runtime to notice the server is gone'
    })
    expect(runtime.endpoint()).toBeUndefined()
    await runtime.stop()
    expect(runtime.status().state).toBe('stopped')
    runtime = undefined
  })

  it('is what createRuntime returns for --runtime external, with the configured models', async () => {
    const port = await freePort()
    worker = await startWorker(port)
    const components = testComponents('external-config', [model], dir)
    const created = createRuntime(
      {
        runtime: 'external',
        endpoint: `http://127.0.0.1:${port}`,
        allowProcessFallback: false,
        maxConcurrentJobs: 2,
        maxQueuedJobs: 4
      },
      components
    )
    runtime = created as ExternalRuntime
    await created.start()
    expect(created.status()).toMatchObject({ kind: 'external', state: 'ready' })
    expect(created.models()).toEqual([
      { name: 'meshwork-tiny', sha256: model.sha256, params: model.params, contextLength: model.contextLength }
    ])
    await created.stop()
    runtime = undefined
    worker.kill('SIGTERM')
  })
})
