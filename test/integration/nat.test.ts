// Reachability across NATs, on one machine: a relay on a "public" segment (198.51.100.0/24, a reserved
// range) and a provider and a router, each behind its own NAT (10.1.0.0/24 and 10.2.0.0/24). They find
// each other, connect through the relay and serve an OpenAI request end to end.
// What this cannot exercise here: AutoNAT, DCUtR and UPnP skip private-range addresses, and every
// range a test may use is on libp2p's private list, so the relay stays 'unknown' (never verified
// 'public'), hole punching is never tried and UPnP refuses the gateway's external address.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI } from '../helpers/node-process'
import {
  LAN_A,
  LAN_B,
  PUBLIC_NS,
  RELAY_IP,
  buildInternet,
  forwardPort,
  leftovers,
  nodeIn,
  removeInternet,
  spawnIn
} from './nat/netns'

const isRoot = process.getuid?.() === 0
if (!isRoot) console.warn('nat.test.ts skipped: building network namespaces and NAT rules needs root (CI runs as root)')

const SCRIPTS = resolve(import.meta.dirname, 'nat')
const RELAY_PORT = 4001

interface NsNode {
  ns: string
  proc: ChildProcess
  dataDir: string
  apiUrl: string
  peerId: string
  logs: () => string
}

const nodes: NsNode[] = []

async function startIn(ns: string, args: string[]): Promise<NsNode> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first`)
  const dataDir = mkdtempSync(join(tmpdir(), 'mwnat-node-'))
  const proc = spawnIn(
    ns,
    process.execPath,
    [
      CLI,
      'start',
      '--data-dir',
      dataDir,
      '--api-port',
      '0',
      '--p2p-host',
      '0.0.0.0',
      '--no-mdns',
      '--address-scope',
      'lan',
      ...args
    ],
    { MESHWORK_ADVERT_INTERVAL_MS: '1000', MESHWORK_DISCOVERY_INTERVAL_MS: '1000' }
  )
  let output = ''
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()))
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()))
  const apiFile = join(dataDir, 'api.json')
  const deadline = Date.now() + 60_000
  while (!existsSync(apiFile)) {
    if (proc.exitCode !== null) throw new Error(`node in ${ns} exited with ${proc.exitCode}:\n${output}`)
    if (Date.now() > deadline) throw new Error(`node in ${ns} did not start:\n${output}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  const api = JSON.parse(readFileSync(apiFile, 'utf8')) as { apiUrl: string; peerId: string }
  const node = { ns, proc, dataDir, apiUrl: api.apiUrl, peerId: api.peerId, logs: () => output }
  nodes.push(node)
  return node
}

async function getJson(node: NsNode, ...paths: string[]): Promise<any[]> {
  return JSON.parse(
    await nodeIn(
      node.ns,
      join(SCRIPTS, 'get-json.mjs'),
      paths.map((p) => node.apiUrl + p)
    )
  )
}

/** Polls `check` (bounded) until it returns a value; the error says what was last seen. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${String(last)})`)
    await new Promise((r) => setTimeout(r, 500))
  }
}

async function stopAll(): Promise<void> {
  if (process.env.MWNAT_LOG_DIR)
    for (const n of nodes) writeFileSync(join(process.env.MWNAT_LOG_DIR, `${n.ns}.log`), n.logs())
  await Promise.all(
    nodes.splice(0).map(async (node) => {
      if (node.proc.exitCode === null && node.proc.signalCode === null) {
        const exited = new Promise((r) => node.proc.once('exit', r))
        node.proc.kill('SIGKILL')
        await exited
      }
      rmSync(node.dataDir, { recursive: true, force: true })
    })
  )
}

describe.skipIf(!isRoot)('a provider and a router behind two NATs', () => {
  let relay: NsNode
  let provider: NsNode
  let router: NsNode

  beforeAll(async () => {
    buildInternet()
    relay = await startIn(PUBLIC_NS, ['--no-serve', '--p2p-port', String(RELAY_PORT)])
    const bootstrap = `/ip4/${RELAY_IP}/tcp/${RELAY_PORT}/p2p/${relay.peerId}`
    ;[provider, router] = await Promise.all([
      startIn(LAN_A.host, [
        '--runtime',
        'process',
        '--model',
        'meshwork-tiny',
        '--p2p-port',
        '0',
        '--bootstrap',
        bootstrap
      ]),
      startIn(LAN_B.host, ['--no-serve', '--p2p-port', '0', '--bootstrap', bootstrap])
    ])
  }, 90_000)

  afterAll(async () => {
    try {
      await stopAll()
    } finally {
      removeInternet()
    }
    expect(leftovers()).toEqual([])
  })

  it('the NATs isolate the LANs: neither side can dial the other directly', async () => {
    const [status] = await getJson(provider, '/api/status')
    const port = /\/ip4\/10\.1\.0\.2\/tcp\/(\d+)/.exec(status.multiaddrs.join(' '))?.[1]
    expect(port).toBeDefined()
    const probe = (ns: string, host: string): Promise<string> =>
      nodeIn(ns, join(SCRIPTS, 'tcp-probe.mjs'), [host, port!])
    expect(await probe(LAN_B.host, LAN_A.hostIp)).toBe('closed') // no route into another LAN
    expect(await probe(PUBLIC_NS, LAN_A.wanIp)).toBe('closed') // unsolicited inbound dropped at the NAT
    expect(await probe(LAN_A.nat, LAN_A.hostIp)).toBe('open') // the provider does listen there
  })

  it('each NATed node learns it is private and reserves a slot on the relay', async () => {
    for (const node of [provider, router]) {
      const reach = await until(
        `${node.ns} to hold a relay reservation`,
        async () => {
          const [status] = await getJson(node, '/api/status')
          const r = status.reachability
          return r.status === 'private' && r.relays.includes(relay.peerId) ? r : undefined
        },
        60_000
      )
      expect(reach.addresses.some((a: string) => a.includes(`/p2p/${relay.peerId}/p2p-circuit`))).toBe(true)
    }
    // what the owner reads
    const cli = await new Promise<string>((done) => {
      const child = spawnIn(provider.ns, process.execPath, [CLI, 'status', '--data-dir', provider.dataDir])
      let out = ''
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
      child.once('exit', () => done(out))
    })
    expect(cli).toMatch(/Reach: +behind NAT: reached through 1 relay/)
    expect(cli).toMatch(/--announce/)
    // the relay saw nothing translated; AutoNAT cannot verify a reserved range, so it stays unknown
    const [relayStatus] = await getJson(relay, '/api/status')
    expect(relayStatus.reachability.status).toBe('unknown')
  })

  it('the router finds the provider through the relay and serves an OpenAI request over the relayed connection', async () => {
    const peer = await until(
      'the router to list the provider as alive',
      async () => {
        const [{ peers }] = await getJson(router, '/api/peers')
        return peers.find((p: { peerId: string; alive: boolean }) => p.peerId === provider.peerId && p.alive)
      },
      90_000
    )
    expect(peer.models).toContain('meshwork-tiny')
    const chat = nodeIn(router.ns, join(SCRIPTS, 'openai-chat.mjs'), [`${router.apiUrl}/v1`, 'meshwork-tiny'], 90_000)
    const answer = JSON.parse(
      await chat.catch(async (err: Error) => {
        const [seen] = await getJson(router, '/api/peers?all=1').catch(() => [undefined])
        const peers = seen?.peers?.map((p: Record<string, unknown>) => ({ ...p, advert: undefined }))
        const logs = `router log:\n${router.logs().slice(-4000)}\nprovider log:\n${provider.logs().slice(-3000)}`
        throw new Error(`${err.message}\nrouter's peers: ${JSON.stringify(peers)}\n${logs}`)
      })
    )
    expect(answer.provider).toBe(provider.peerId)
    expect(answer.content.length).toBeGreaterThan(0)
    expect(answer.usage.completion_tokens).toBeGreaterThan(0)
    const [{ peers }, status] = await getJson(router, '/api/peers', '/api/status')
    const seen = peers.find((p: { peerId: string }) => p.peerId === provider.peerId)
    expect(seen.connection).toBe('relayed')
    expect(seen.rttMs).toBeGreaterThan(0) // measured over the relay
    // streams share the relayed connection: the router holds about one per peer, not one per stream
    expect(status.connections).toBeLessThanOrEqual(4)
    expect(status.reachability.status).toBe('private')
    const [served] = await getJson(provider, '/api/status')
    expect(served.stats.served).toBeGreaterThanOrEqual(1)
    // the consumer countersigns the provider's receipt over the same relayed connection
    await until(
      'a countersigned receipt in the provider’s ledger',
      async () => {
        const [earnings] = await getJson(provider, '/api/earnings')
        return earnings.recent.find(
          (r: { role: string; consumerSigValid: boolean }) => r.role === 'earned' && r.consumerSigValid
        )
      },
      30_000
    )
  })

  it('a provider whose owner forwards a port and announces it is reached directly', async () => {
    // UPnP would make this mapping by itself, but libp2p's UPnP refuses a gateway whose external
    // address is private, and every range a test may use is; so the owner does it by hand here
    const old = provider
    const exited = new Promise((r) => old.proc.once('exit', r))
    old.proc.kill('SIGTERM')
    await exited
    const PORT = 4002
    forwardPort(LAN_A, PORT)
    const bootstrap = `/ip4/${RELAY_IP}/tcp/${RELAY_PORT}/p2p/${relay.peerId}`
    const announce = `/ip4/${LAN_A.wanIp}/tcp/${PORT}`
    provider = await startIn(LAN_A.host, [
      ...['--runtime', 'process', '--model', 'meshwork-tiny', '--bootstrap', bootstrap],
      ...['--p2p-port', String(PORT), '--announce', announce, '--reachability', 'public']
    ])
    const [status] = await getJson(provider, '/api/status')
    expect(status.reachability.status).toBe('public')
    expect(status.reachability.addresses.some((a: string) => a.startsWith(announce))).toBe(true)
    await until(
      'the router to list the new provider as alive and the old one as gone',
      async () => {
        const [{ peers }] = await getJson(router, '/api/peers')
        const alive = (id: string): boolean =>
          peers.some((p: { peerId: string; alive: boolean }) => p.peerId === id && p.alive)
        return alive(provider.peerId) && !alive(old.peerId) ? true : undefined
      },
      90_000
    )
    const answer = JSON.parse(
      await nodeIn(router.ns, join(SCRIPTS, 'openai-chat.mjs'), [`${router.apiUrl}/v1`, 'meshwork-tiny'], 90_000)
    )
    expect(answer.provider).toBe(provider.peerId)
    expect(answer.content.length).toBeGreaterThan(0)
    const [{ peers }] = await getJson(router, '/api/peers')
    expect(peers.find((p: { peerId: string }) => p.peerId === provider.peerId).connection).toBe('direct')
  })
})
