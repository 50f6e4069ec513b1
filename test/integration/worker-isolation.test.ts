import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDockerRuntime, createProcessRuntime } from '../../electron/core/runtime/create'
import { createDockerClient, detectDocker } from '../../electron/core/runtime/docker/engine'
import type { ResolvedModel } from '../../electron/core/runtime/models/types'
import type { SupervisedRuntime } from '../../electron/core/runtime/supervisor'
import { bundleWorker, docker, removeContainersOf, testComponents, tinyModel } from '../helpers/runtime'

// Needs a running Docker engine on Linux: without one these tests fail (never skip).
const run = randomBytes(4).toString('hex')
const PEER = `isolation-test-${run}`
const PROBE_LABEL = `meshwork.peer=${PEER}`
const dir = mkdtempSync(join(tmpdir(), 'meshwork-isolation-'))
let workerEntry: string
let model: ResolvedModel
let runtime: SupervisedRuntime | undefined
let processRuntime: SupervisedRuntime | undefined
let listener: Server
let listenerPort: number

beforeAll(async () => {
  await detectDocker(await createDockerClient())
  workerEntry = await bundleWorker()
  model = await tinyModel(join(dir, 'models'))
  // a service on every host address: what a worker with a network could reach
  listener = createServer((socket) => {
    socket.on('error', () => undefined) // the probe cuts the connection once it opened
    socket.end('hello from the host\n')
  })
  await new Promise<void>((resolve) => listener.listen(0, '0.0.0.0', resolve))
  listenerPort = (listener.address() as { port: number }).port
})

afterAll(async () => {
  await runtime?.stop().catch(() => undefined)
  await processRuntime?.stop().catch(() => undefined)
  await removeContainersOf(PEER)
  await new Promise((resolve) => listener.close(resolve))
  await rm(dir, { recursive: true, force: true })
})

/** Every IPv4 address of this host (its interfaces and the Docker bridges' gateways), and an outside one. */
function targets(): string[] {
  const own = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address)
  return [...new Set(own), '10.255.255.1', '192.0.2.200']
}

/** A Node script that tries a TCP connection to each target and prints which ones opened. */
function probeScript(port: number, hosts: string[]): string {
  return `const net=require('net');const hosts=${JSON.stringify(hosts)};const out={};let left=hosts.length;
for(const h of hosts){const s=net.connect({host:h,port:${port},timeout:2000});
const done=(r)=>{if(out[h])return;out[h]=r;s.destroy();if(--left===0)console.log(JSON.stringify(out))};
s.on('connect',()=>done('open'));s.on('timeout',()=>done('timeout'));s.on('error',(e)=>done(e.code||e.message))}`
}

async function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(runtime!.endpoint()! + path, { ...init, signal: AbortSignal.timeout(30_000) })
}

describe('worker container isolation', () => {
  it('starts the worker with no network and reaches it through its socket', async () => {
    runtime = createDockerRuntime(testComponents(PEER, [model], dir), { paths: { workerEntry }, healthIntervalMs: 500 })
    await runtime.start()
    expect(runtime.status().state).toBe('ready')
    expect(runtime.endpoint()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(runtime.token()).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('answers 401 without the launch token on every route but /health', async () => {
    expect((await api('/health')).status).toBe(200)
    const body = JSON.stringify({ model: 'meshwork-tiny', prompt: 'hi', max_tokens: 4 })
    const json = { 'content-type': 'application/json' }
    const calls: Array<[string, { method?: string; body?: string; headers?: Record<string, string> }]> = [
      ['/v1/models', {}],
      ['/v1/completions', { method: 'POST', headers: json, body }],
      ['/v1/chat/completions', { method: 'POST', headers: json, body }],
      ['/nope', {}]
    ]
    for (const [path, init] of calls) {
      for (const authorization of [undefined, 'Bearer wrong-token-of-some-length', `Bearer ${runtime!.token()}x`]) {
        const res = await api(path, {
          ...init,
          headers: { ...init.headers, ...(authorization ? { authorization } : {}) }
        })
        expect(res.status, `${path} ${authorization}`).toBe(401)
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_token')
      }
    }
    const ok = await api('/v1/models', { headers: { authorization: `Bearer ${runtime!.token()}` } })
    expect(ok.status).toBe(200)
    // the node's own runtime client sends it
    const events = []
    for await (const event of runtime!.stream({
      api: 'completions',
      body: { model: 'meshwork-tiny', prompt: 'The mesh', max_tokens: 8, temperature: 0 }
    } as never))
      events.push(event)
    expect(events.at(-1)).toMatchObject({ type: 'final' })
  })

  it('keeps the token out of docker inspect and the container out of every network', async () => {
    const info = JSON.parse(await docker('inspect', runtime!.workerId()!))[0]
    const token = runtime!.token()!
    expect(JSON.stringify(info.Config.Cmd)).not.toContain(token)
    expect(JSON.stringify(info.Config.Env)).not.toContain(token)
    expect(info.HostConfig.NetworkMode).toBe('none')
    expect(Object.keys(info.NetworkSettings.Networks ?? {})).toEqual(['none'])
    expect(info.HostConfig.PortBindings ?? {}).toEqual({})
    expect(info.Mounts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Destination: '/run/meshwork-secret', RW: false }),
        expect.objectContaining({ Destination: '/run/meshwork-sock', RW: true })
      ])
    )
    expect(info.HostConfig.CapDrop).toEqual(['ALL'])
    expect(info.HostConfig.ReadonlyRootfs).toBe(true)
  })

  it('cannot open a TCP connection to the host or anywhere else, where a bridged container can', async () => {
    const hosts = targets()
    const script = probeScript(listenerPort, hosts)
    const inside = JSON.parse(
      await docker('exec', runtime!.workerId()!, '/usr/local/bin/node', '-e', script)
    ) as Record<string, string>
    for (const host of hosts) expect(inside[host], `${host}: ${inside[host]}`).not.toBe('open')
    // control: the same image and probe on Docker's default bridge (how the worker ran before) reaches the host
    const image = JSON.parse(await docker('inspect', runtime!.workerId()!))[0].Config.Image
    const bridged = JSON.parse(
      await docker(
        'run',
        '--rm',
        '--label',
        PROBE_LABEL,
        '--network',
        'bridge',
        '--entrypoint',
        '/usr/local/bin/node',
        image,
        '-e',
        script
      )
    ) as Record<string, string>
    expect(Object.values(bridged)).toContain('open')
    console.log('worker isolation probe', { port: listenerPort, inside, bridged })
  })
})

describe('worker process', () => {
  it('does not inherit the API key or any MESHWORK_* setting, and requires its launch token', async () => {
    const saved = { ...process.env }
    process.env.MESHWORK_API_KEY = 'sk-node-api-key-must-not-leak'
    process.env.MESHWORK_EXTRA_SETTING = 'also-not'
    try {
      processRuntime = createProcessRuntime(testComponents(`${PEER}-process`, [model], dir), { paths: { workerEntry } })
      await processRuntime.start()
    } finally {
      for (const name of ['MESHWORK_API_KEY', 'MESHWORK_EXTRA_SETTING']) {
        if (saved[name] === undefined) delete process.env[name]
        else process.env[name] = saved[name]
      }
    }
    const pid = Number(processRuntime.workerId())
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')
    expect(environ.length).toBeGreaterThan(2)
    expect(environ.filter((entry) => /^MESHWORK_/.test(entry))).toEqual([])
    expect(environ.join('\n')).not.toContain('sk-node-api-key-must-not-leak')
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    expect(cmdline).not.toContain(processRuntime.token()!)
    const endpoint = processRuntime.endpoint()!
    expect((await fetch(`${endpoint}/v1/models`)).status).toBe(401)
    expect(
      (await fetch(`${endpoint}/v1/models`, { headers: { authorization: `Bearer ${processRuntime.token()}` } })).status
    ).toBe(200)
    await processRuntime.stop()
    processRuntime = undefined
  })
})
