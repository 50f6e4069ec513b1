import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDockerRuntime, createProcessRuntime } from '../../electron/core/runtime/create'
import { createDockerClient, detectDocker } from '../../electron/core/runtime/docker/engine'
import { ensureWorkerImage, type WorkerImage } from '../../electron/core/runtime/docker/image'
import type { ResolvedModel } from '../../electron/core/runtime/models/types'
import { resolveWorkerPaths } from '../../electron/core/runtime/paths'
import type { SupervisedRuntime } from '../../electron/core/runtime/supervisor'
import type { ProgressEvent } from '../../electron/core/runtime/types'
import {
  bundleWorker,
  containersOf,
  docker,
  removeContainersOf,
  streamCompletion,
  testComponents,
  tinyModel
} from '../helpers/runtime'
import { waitFor } from '../helpers/wait'

// Needs a running Docker engine: without one these tests fail (never skip).
const run = randomBytes(4).toString('hex')
const PEER = `docker-test-${run}`
const OTHER = `docker-other-${run}`
const dir = mkdtempSync(join(tmpdir(), 'meshwork-docker-rt-'))
const client = await createDockerClient()
// what an earlier version of Meshwork left behind: one image nobody uses, one a container still references
const OLD_IMAGE = `meshwork-worker:old-${run}`
const USED_IMAGE = `meshwork-worker:used-${run}`

/** A tiny image of its own (distinct id) under our repository name. */
async function fakeOldImage(tag: string): Promise<void> {
  const context = join(dir, `image-${tag.replace(/\W/g, '-')}`)
  mkdirSync(context, { recursive: true })
  writeFileSync(join(context, 'marker'), tag)
  writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\nCOPY marker /marker\n')
  await docker('build', '-q', '-t', tag, context)
}
let workerEntry: string
let model: ResolvedModel
let image: WorkerImage
let runtime: SupervisedRuntime | undefined
let processRuntime: SupervisedRuntime | undefined

beforeAll(async () => {
  await detectDocker(client)
  workerEntry = await bundleWorker()
  model = await tinyModel(join(dir, 'models'))
})

afterAll(async () => {
  await runtime?.stop().catch(() => undefined)
  await processRuntime?.stop().catch(() => undefined)
  await removeContainersOf(PEER, OTHER)
  await docker('image', 'rm', '-f', OLD_IMAGE, USED_IMAGE).catch(() => undefined)
  await rm(dir, { recursive: true, force: true })
})

function dockerRuntime(peerId = PEER): { runtime: SupervisedRuntime; components: ReturnType<typeof testComponents> } {
  const components = testComponents(peerId, [model], dir)
  return {
    components,
    runtime: createDockerRuntime(components, { paths: { workerEntry }, healthIntervalMs: 500, restartBaseMs: 200 })
  }
}

describe('docker runtime', () => {
  it('builds the worker image from nothing (no cache), then reuses it while nothing changed; drops older unused images', async () => {
    await fakeOldImage(OLD_IMAGE)
    await fakeOldImage(USED_IMAGE)
    await docker('create', '--label', `meshwork.peer=${PEER}`, USED_IMAGE, '/marker')
    const progress: ProgressEvent[] = []
    const paths = resolveWorkerPaths({ workerEntry })
    const labels = { 'meshwork.managed': 'true', 'meshwork.peer': PEER }
    image = await ensureWorkerImage({
      docker: client,
      paths,
      labels,
      noCache: true,
      onProgress: (e) => progress.push(e)
    })
    expect(image.source).toBe('built')
    expect(image.tag).toMatch(/^meshwork-worker:[0-9a-f]{20}$/)
    expect(progress.some((p) => p.message?.startsWith('Step '))).toBe(true)
    expect(progress.at(-1)?.fraction).toBe(1)
    const inspected = JSON.parse(await docker('image', 'inspect', image.tag))[0]
    expect(inspected.Config.User).toBe('65534:65534')
    expect(inspected.RootFS.Layers.length).toBe(3) // FROM scratch + base, modules, worker
    const again = await ensureWorkerImage({ docker: client, paths, labels })
    expect(again).toMatchObject({ tag: image.tag, source: 'cached' })
    const left = (await docker('image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', 'meshwork-worker')).split('\n')
    expect(left).toContain(image.tag)
    expect(left).toContain(USED_IMAGE)
    expect(left).not.toContain(OLD_IMAGE)
  })

  it('starts a container that becomes healthy and streams the same greedy completion as the process runtime', async () => {
    const made = dockerRuntime()
    runtime = made.runtime
    const states: string[] = []
    made.components.events.on('runtime:status', (s) => states.push(s.state))
    await runtime.start()
    const status = runtime.status()
    expect(status).toMatchObject({ kind: 'docker', state: 'ready', image: image.tag })
    expect(status.containerId).toMatch(/^[0-9a-f]{64}$/)
    expect(states).toContain('building')
    expect(runtime.endpoint()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)

    processRuntime = createProcessRuntime(testComponents('docker-test-process', [model], dir), {
      paths: { workerEntry }
    })
    await processRuntime.start()
    const request = { model: 'meshwork-tiny', prompt: 'The mesh routes every request', max_tokens: 48, temperature: 0 }
    const inContainer = await streamCompletion(runtime.endpoint()!, request, undefined, runtime.token())
    const inProcess = await streamCompletion(processRuntime.endpoint()!, request, undefined, processRuntime.token())
    expect(inContainer.tokenIds.length).toBe(48)
    expect(inContainer.chunks).toBeGreaterThan(1)
    expect(inContainer.text).toBe(inProcess.text)
    expect(inContainer.tokenIds).toEqual(inProcess.tokenIds)
    await processRuntime.stop()
    processRuntime = undefined
    expect(made.components.logs.some((l) => l.includes('MESHWORK_WORKER_READY'))).toBe(true)
  })

  it('docker inspect shows every hardening setting', async () => {
    const info = JSON.parse(await docker('inspect', runtime!.workerId()!))[0]
    const host = info.HostConfig
    expect(info.Config.User).toBe('65534:65534')
    expect(host.CapDrop).toEqual(['ALL'])
    expect(host.CapAdd ?? []).toEqual([])
    expect(host.SecurityOpt).toContain('no-new-privileges:true')
    expect(host.ReadonlyRootfs).toBe(true)
    expect(Object.keys(host.Tmpfs)).toEqual(['/tmp'])
    expect(host.Memory).toBeGreaterThanOrEqual(1024 ** 3)
    expect(host.PidsLimit).toBeGreaterThan(0)
    expect(host.Privileged).toBe(false)
    // no network at all: the node reaches the worker through a socket in its own mount (worker-isolation.test.ts)
    expect(host.NetworkMode).toBe('none')
    expect(info.Mounts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Destination: '/models/0.gguf', RW: false, Source: model.path }),
        expect.objectContaining({ Destination: '/run/meshwork-secret', RW: false })
      ])
    )
    expect(info.Mounts).toHaveLength(3)
    expect(JSON.stringify(info.Mounts)).not.toContain('docker.sock')
    expect(info.Config.Labels).toMatchObject({ 'meshwork.peer': PEER, 'meshwork.managed': 'true' })
    // the root filesystem really is read-only and the worker really is not root
    const attempt = await docker(
      'exec',
      runtime!.workerId()!,
      '/usr/local/bin/node',
      '-e',
      "try{require('fs').writeFileSync('/app/x','1');console.log('wrote')}catch(e){console.log(e.code)};console.log(process.getuid())"
    )
    expect(attempt.split('\n')).toEqual(['EROFS', '65534'])
  })

  it('replaces a container killed from outside', async () => {
    const before = runtime!.workerId()!
    await docker('kill', before)
    await waitFor(() => runtime!.restartCount === 1 && runtime!.status().state === 'ready', 60_000, {
      what: 'a replacement container'
    })
    const after = runtime!.workerId()!
    expect(after).not.toBe(before)
    expect(await containersOf(PEER)).toEqual([after])
    const reply = await streamCompletion(
      runtime!.endpoint()!,
      {
        model: 'meshwork-tiny',
        prompt: 'still here',
        max_tokens: 5,
        temperature: 0
      },
      undefined,
      runtime!.token()
    )
    expect(reply.tokenIds.length).toBe(5)
  })

  it('stop() leaves no container behind', async () => {
    await runtime!.stop()
    expect(runtime!.status().state).toBe('stopped')
    expect(await containersOf(PEER)).toEqual([])
    runtime = undefined
  })

  it('removes only its own orphans from an earlier crash', async () => {
    const idle = ['--entrypoint', '/usr/local/bin/node', image.tag, '-e', 'setInterval(() => {}, 1000)']
    const mine = await docker(
      'run',
      '-d',
      '--label',
      'meshwork.managed=true',
      '--label',
      `meshwork.peer=${PEER}`,
      ...idle
    )
    const theirs = await docker(
      'run',
      '-d',
      '--label',
      'meshwork.managed=true',
      '--label',
      `meshwork.peer=${OTHER}`,
      ...idle
    )
    const made = dockerRuntime()
    runtime = made.runtime
    await runtime.start()
    expect(runtime.status().state).toBe('ready')
    const now = await containersOf(PEER)
    expect(now).not.toContain(mine)
    expect(now).toEqual([runtime.workerId()])
    expect(await containersOf(OTHER)).toEqual([theirs])
    await runtime.stop()
    runtime = undefined
    expect(await containersOf(PEER)).toEqual([])
  })

  it('runs a configured image as it is, and says so when a configured image cannot be pulled', async () => {
    const components = testComponents(PEER, [model], dir)
    runtime = createDockerRuntime(components, { paths: { workerEntry }, image: image.tag })
    await runtime.start()
    expect(runtime.status()).toMatchObject({ state: 'ready', image: image.tag })
    await runtime.stop()
    runtime = createDockerRuntime(testComponents(PEER, [model], dir), {
      paths: { workerEntry },
      image: '127.0.0.1:9/meshwork/worker:absent',
      restartBaseMs: 60_000
    })
    await runtime.start()
    const status = runtime.status()
    expect(status.state).toBe('failed')
    expect(status.message).toContain('Pulling 127.0.0.1:9/meshwork/worker:absent failed')
    await runtime.stop()
    runtime = undefined
    expect(await containersOf(PEER)).toEqual([])
  })
})
