import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRuntime, type RuntimeConfig } from '../../electron/core/runtime/create'
import type { ResolvedModel } from '../../electron/core/runtime/models/types'
import type { InferenceRuntime } from '../../electron/core/runtime/types'
import { bundleWorker, containersOf, removeContainersOf, testComponents, tinyModel } from '../helpers/runtime'

// Needs a running Docker engine for the first case; "no engine" is a DOCKER_HOST nobody listens on.
const PEER = `select-test-${randomBytes(4).toString('hex')}`
const dir = mkdtempSync(join(tmpdir(), 'meshwork-select-rt-'))
const NO_ENGINE = `unix://${join(dir, 'no-docker.sock')}`
const base: RuntimeConfig = { runtime: 'auto', allowProcessFallback: true, maxConcurrentJobs: 2, maxQueuedJobs: 8 }
let workerEntry: string
let model: ResolvedModel
let runtime: InferenceRuntime | undefined
const savedHost = process.env.DOCKER_HOST

beforeAll(async () => {
  workerEntry = await bundleWorker()
  model = await tinyModel(join(dir, 'models'))
})

afterEach(async () => {
  await runtime?.stop()
  runtime = undefined
  if (savedHost === undefined) delete process.env.DOCKER_HOST
  else process.env.DOCKER_HOST = savedHost
})

afterAll(async () => {
  await removeContainersOf(PEER)
  await rm(dir, { recursive: true, force: true })
})

function make(config: Partial<RuntimeConfig>): InferenceRuntime {
  return createRuntime({ ...base, ...config }, testComponents(PEER, [model], dir), { paths: { workerEntry } })
}

/**
 * What calls the endpoint directly (the benchmark) takes the token from the runtime it was given:
 * the chosen worker's token must come through the 'auto' wrapper, or every such call is a 401.
 */
async function expectTokenOpensEndpoint(rt: InferenceRuntime): Promise<void> {
  const url = `${rt.endpoint()}/v1/models`
  expect((await fetch(url)).status).toBe(401)
  const token = rt.token?.()
  expect(token).toMatch(/^[A-Za-z0-9_-]{16,}$/)
  expect((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
}

describe('runtime selection', () => {
  it("'auto' uses Docker when an engine answers", async () => {
    runtime = make({})
    expect(runtime.status()).toEqual({ kind: 'none', state: 'stopped' })
    await runtime.start()
    expect(runtime.status()).toMatchObject({ kind: 'docker', state: 'ready' })
    expect(runtime.supportsTokenContinuation).toBe(true)
    await expectTokenOpensEndpoint(runtime)
    expect(await containersOf(PEER)).toHaveLength(1)
    await runtime.stop()
    expect(await containersOf(PEER)).toEqual([])
  })

  it("'auto' without an engine falls back to the process runtime when allowed", async () => {
    process.env.DOCKER_HOST = NO_ENGINE
    runtime = make({})
    await runtime.start()
    expect(runtime.status()).toMatchObject({ kind: 'process', state: 'ready' })
    expect(runtime.endpoint()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    await expectTokenOpensEndpoint(runtime)
  })

  it("'auto' without an engine and without fallback is unavailable and says what to install", async () => {
    process.env.DOCKER_HOST = NO_ENGINE
    runtime = make({ allowProcessFallback: false })
    await runtime.start()
    const status = runtime.status()
    expect(status).toMatchObject({ kind: 'none', state: 'unavailable' })
    expect(status.message).toContain('Docker engine not reachable')
    expect(status.message).toContain('Install Docker')
    expect(runtime.endpoint()).toBeUndefined()
    expect(runtime.models()).toEqual([])
  })

  it("'docker' without an engine stays up as 'unavailable' with the reason", async () => {
    process.env.DOCKER_HOST = NO_ENGINE
    runtime = make({ runtime: 'docker' })
    await runtime.start()
    expect(runtime.status()).toMatchObject({ kind: 'docker', state: 'unavailable' })
    expect(runtime.status().message).toContain('--runtime process')
  })
})
