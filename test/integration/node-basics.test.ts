import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { loadConfig } from '../../electron/core/config'
import { ADVERT_PROTOCOL } from '../../electron/core/p2p/advert-protocol'
import { createMeshLibp2p, DHT_PROTOCOL } from '../../electron/core/p2p/libp2p'
import { killAllNodes, startNode, type NodeProcess } from '../helpers/node-process'
import { waitFor } from '../helpers/wait'

/** Preloaded into a node under test: reports when a module loads, and its Buffer pool (see the file). */
const REPORT_HOOK = pathToFileURL(resolve(import.meta.dirname, '../helpers/report-import.mjs')).href

/** Raw HTTP so the test controls the Host header (fetch forbids setting it). */
function rawRequest(
  url: string,
  options: { method: string; headers: Record<string, string>; body?: string }
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const target = new URL(url)
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: options.method,
        headers: options.headers
      },
      (res) => {
        let body = ''
        res.on('data', (d) => (body += d))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }))
      }
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

describe('a headless node', () => {
  let node: NodeProcess
  beforeAll(async () => {
    node = await startNode({ args: ['--no-serve'] })
  })
  afterAll(killAllNodes)

  it('reports the /api/status contract fields', async () => {
    const status = await node.get('/api/status')
    expect(status).toMatchObject({ peerId: node.peerId, paused: false, apiUrl: node.apiUrl })
    expect(status.multiaddrs[0]).toMatch(new RegExp(`/ip4/127.0.0.1/tcp/\\d+/p2p/${node.peerId}$`))
    expect(status.runtime).toHaveProperty('kind')
    expect(status.hardware).toHaveProperty('gpus')
    // a node that serves nothing detects its hardware on the first status request, not at start
    expect(status.hardware.cpu.cores).toBeGreaterThan(0)
  })

  it('refuses a cross-origin pause, a form-encoded pause and a foreign Host', async () => {
    const host = new URL(node.apiUrl).host
    const crossOrigin = await rawRequest(node.apiUrl + '/api/pause', {
      method: 'POST',
      headers: { host, origin: 'http://evil.example', 'content-type': 'application/json' },
      body: '{}'
    })
    expect(crossOrigin.status).toBe(403)
    const form = await rawRequest(node.apiUrl + '/api/pause', {
      method: 'POST',
      headers: { host, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1'
    })
    expect(form.status).toBe(415)
    const rebinding = await rawRequest(node.apiUrl + '/api/pause', {
      method: 'POST',
      headers: { host: `evil.example:${new URL(node.apiUrl).port}`, 'content-type': 'application/json' },
      body: '{}'
    })
    expect(rebinding.status).toBe(403)
    const read = await rawRequest(node.apiUrl + '/api/status', { method: 'GET', headers: { host: 'evil.example' } })
    expect(read.status).toBe(403)
    expect(crossOrigin.headers['access-control-allow-origin']).toBeUndefined()
    expect((await node.get('/api/status')).paused).toBe(false)
  })

  it('pauses and resumes through the API and the CLI', async () => {
    const sameOrigin = await rawRequest(node.apiUrl + '/api/pause', {
      method: 'POST',
      headers: { host: new URL(node.apiUrl).host, origin: node.apiUrl, 'content-type': 'application/json' }
    })
    expect(sameOrigin.status).toBe(200)
    expect(JSON.parse(sameOrigin.body).paused).toBe(true)
    expect((await node.post('/api/resume')).status).toBe(200)
    expect((await node.get('/api/status')).paused).toBe(false)
  })

  it('keeps its peer id across a restart with the same data dir, and its key file is private', async () => {
    const before = node.peerId
    expect(statSync(join(node.dataDir, 'peer-key')).mode & 0o777).toBe(0o600)
    await node.kill('SIGTERM')
    expect(node.proc.exitCode).toBe(0)
    const again = await startNode({ dataDir: node.dataDir, args: ['--no-serve'] })
    expect(again.peerId).toBe(before)
  })

  it('says which port is taken and how to choose another, instead of a stack trace', async () => {
    const busy = createServer()
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
    const port = String((busy.address() as AddressInfo).port)
    try {
      await expect(startNode({ args: ['--no-serve', '--api-port', port] })).rejects.toThrow(
        `the API port 127.0.0.1:${port} is already in use`
      )
      const p2p = startNode({ args: ['--no-serve', '--p2p-port', port] })
      await expect(p2p).rejects.toThrow(
        `the P2P port 127.0.0.1:${port} is already in use: choose another with --p2p-port N`
      )
      await expect(p2p).rejects.not.toThrow(/at .*node:net/)
    } finally {
      busy.close()
    }
  })

  it('joins through a bootstrap peer that was down when it started', async () => {
    const seed = await startNode({ args: ['--no-serve'] })
    const port = /\/tcp\/(\d+)\//.exec(seed.multiaddr)![1]
    await seed.kill('SIGTERM')
    const joiner = await startNode({ bootstrap: [seed.multiaddr], args: ['--no-serve'] })
    expect((await joiner.get('/api/status')).connections).toBe(0)
    // the seed comes back only once the joiner has tried the list and found nobody: started sooner, it
    // could be up before the joiner's first try, and the test would not see a bootstrap that was down
    await waitFor(() => joiner.logs().includes('no peer reachable; retrying the bootstrap list'), 10_000, {
      intervalMs: 100
    })
    const back = await startNode({ dataDir: seed.dataDir, args: ['--no-serve', '--p2p-port', port] })
    expect(back.multiaddr).toBe(seed.multiaddr)
    await waitFor(async () => (await joiner.get('/api/status')).connections > 0, 20_000, { intervalMs: 200 })
  })

  it('does not speak the advert protocol: a peer that connects has nothing to fetch from it', async () => {
    const config = loadConfig(
      { dataDir: '/nonexistent-unused', p2pHost: '127.0.0.1', mdns: false, addressScope: 'loopback' },
      {}
    )
    const router = await startNode({ args: ['--no-serve'] })
    const client = await createMeshLibp2p(await generateKeyPair('Ed25519'), config)
    await client.start()
    try {
      await client.dial(multiaddr(router.multiaddr))
      const protocols = await waitFor(
        async () => {
          const { protocols } = await client.peerStore.get(peerIdFromString(router.peerId))
          return protocols.includes(DHT_PROTOCOL) ? protocols : undefined
        },
        10_000,
        { what: 'identify to list the node protocols' }
      )
      expect(protocols).not.toContain(ADVERT_PROTOCOL)
    } finally {
      await client.stop()
    }
  })

  // dockerode brings grpc, ssh2 and protobufjs, and ssh2's WebAssembly reserves 16 MB as it loads
  it('never loads dockerode to serve nothing: its hardware status asks the local engine directly', async () => {
    const env = { NODE_OPTIONS: `--import=${REPORT_HOOK}`, MESHWORK_TEST_REPORT_IMPORT: 'dockerode' }
    const router = await startNode({ args: ['--no-serve'], env })
    // the first status detects the hardware, Docker among it
    const status = await router.get('/api/status')
    expect(status.hardware.docker).toMatchObject({ available: true })
    await new Promise((r) => setTimeout(r, 500))
    expect(router.logs()).not.toContain('dockerode imported')
    // an engine elsewhere (here: nowhere) is still dockerode's to reach, which shows the hook works
    const remote = await startNode({ args: ['--no-serve'], env: { ...env, DOCKER_HOST: 'tcp://127.0.0.1:9' } })
    expect((await remote.get('/api/status')).hardware.docker).toEqual({ available: false })
    await waitFor(async () => remote.logs().includes('test hook: dockerode imported'), 5_000, { intervalMs: 100 })
  })

  // Node 24 cuts small Buffers from 64 KiB slabs, and libp2p keeps small slices of them for every peer
  // it knows: under churn a router grew by ~30 KB outside the heap per peer that had joined
  it("cuts small Buffers from 8 KiB slabs, not Node 24's 64 KiB", async () => {
    const node = await startNode({
      args: ['--no-serve'],
      env: { NODE_OPTIONS: `--import=${REPORT_HOOK}`, MESHWORK_TEST_REPORT_BUFFER_POOL: '1' }
    })
    await node.kill('SIGTERM')
    expect(node.logs()).toContain('test hook: buffer pool 8192')
  })
})
