import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Advert } from '../../shared/advert'
import { loadConfig } from '../../electron/core/config'
import { sealAdvert } from '../../electron/core/p2p/advert-envelope'
import { ADVERT_TOPIC } from '../../electron/core/p2p/advertiser'
import { createMeshLibp2p, type MeshLibp2p } from '../../electron/core/p2p/libp2p'
import { killAllNodes, startNode, type NodeProcess } from '../helpers/node-process'
import { waitFor } from '../helpers/wait'

const FAKES = Number(process.env.FLOOD_ADVERTS ?? 10_000)
const BATCH = 250

function rssMB(node: NodeProcess): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${node.proc.pid}/status`, 'utf8'))?.[1])
  return Math.round(kb / 1024)
}

/** The victim's last logged table sizes (discovery logs them every few seconds at debug level). */
function tables(node: NodeProcess): { watched: number; unverified: number; directory: number } | undefined {
  const line = node
    .logs()
    .split('\n')
    .filter((l) => l.includes('[meshwork:discovery] tables'))
    .at(-1)
  return line === undefined ? undefined : JSON.parse(line.slice(line.indexOf('{')))
}

/** A valid advert, signed by a fresh identity, for the model the honest providers serve, claiming to be far faster. */
async function fakeAdvert() {
  const key = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(key)
  const advert: Advert = {
    peerId: peerId.toString(),
    version: '0.1.0',
    seq: Date.now(),
    timestamp: Date.now(),
    paused: false,
    models: [{ name: 'meshwork-tiny', sha256: 'f'.repeat(64), params: 1 }],
    benchmark: { 'meshwork-tiny': { decodeTokensPerSecond: 1e6, prefillTokensPerSecond: 1e6, ttftMs: 1, gflops: 1e3 } },
    price: { perMillionTokens: 0, currency: 'credits' },
    load: { inflight: 0, queued: 0, capacity: 64 }
  }
  return { key, peerId, envelope: await sealAdvert(advert, key) }
}

/**
 * A raw libp2p peer that publishes adverts as fresh identities: each gossip message is authored and
 * signed by the identity its advert names, so it passes every signature and signer check. The
 * identities have no addresses and nothing answers for them.
 */
async function floodAdverts(
  attacker: MeshLibp2p,
  count: number,
  onBatch: (sent: number) => Promise<void>
): Promise<number> {
  const pubsub = attacker.services.pubsub as unknown as { publishConfig: unknown }
  const own = pubsub.publishConfig
  let sent = 0
  try {
    while (sent < count) {
      const batch = Math.min(BATCH, count - sent)
      const signed = await Promise.all(Array.from({ length: batch }, () => fakeAdvert()))
      for (const { key, peerId, envelope } of signed) {
        // gossipsub signs with its publish config: swap in the fake identity (what a hand-built RPC does)
        pubsub.publishConfig = { type: 0, author: peerId, key: publicKeyToProtobuf(key.publicKey), privateKey: key }
        await attacker.services.pubsub.publish(ADVERT_TOPIC, envelope).catch(() => {})
      }
      sent += batch
      await onBatch(sent)
    }
  } finally {
    pubsub.publishConfig = own
  }
  return sent
}

describe(`a flood of ${FAKES} valid adverts from fresh identities`, () => {
  let victim: NodeProcess
  const providers: NodeProcess[] = []
  let attacker: MeshLibp2p

  beforeAll(async () => {
    // FLOOD_NODE_OPTIONS=--max-old-space-size=N caps the victim's heap, to tell growth from lazy collection
    const nodeOptions = process.env.FLOOD_NODE_OPTIONS
    victim = await startNode({
      args: ['--no-serve'],
      env: { MESHWORK_LOG_LEVEL: 'debug', ...(nodeOptions === undefined ? {} : { NODE_OPTIONS: nodeOptions }) }
    })
    for (let i = 0; i < 2; i++)
      providers.push(await startNode({ bootstrap: [victim.multiaddr], args: ['--runtime', 'process'] }))
    const key = await generateKeyPair('Ed25519')
    attacker = await createMeshLibp2p(
      key,
      loadConfig({ dataDir: '/nonexistent-unused', p2pHost: '127.0.0.1', mdns: false, addressScope: 'loopback' }, {})
    )
    await attacker.start()
    attacker.services.pubsub.subscribe(ADVERT_TOPIC)
  })
  afterAll(async () => {
    await attacker?.stop()
    await killAllNodes()
  })

  const honestAlive = async (): Promise<number> => {
    const { peers } = await victim.get('/api/peers')
    return providers.filter((p) =>
      peers.some((q: { peerId: string; alive: boolean }) => q.peerId === p.peerId && q.alive)
    ).length
  }
  const complete = async (): Promise<Response> =>
    fetch(victim.apiUrl + '/v1/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'meshwork-tiny', prompt: 'hello', max_tokens: 4, temperature: 0 }),
      signal: AbortSignal.timeout(20_000)
    })

  it('keeps honest providers routable and its tables and memory bounded', { timeout: 600_000 }, async () => {
    await waitFor(async () => (await honestAlive()) === 2, 60_000, { what: 'the victim to list both providers' })
    expect((await complete()).status).toBe(200)
    await attacker.dial(multiaddr(victim.multiaddr))
    await waitFor(() => attacker.services.pubsub.getSubscribers(ADVERT_TOPIC).length > 0, 10_000, {
      what: 'the victim to subscribe'
    })
    const rssBefore = rssMB(victim)

    const started = Date.now()
    const samples: number[] = []
    const requests = { ok: 0, failed: 0 }
    let rssHalfway = 0
    // sample the victim's view of the honest providers twice a second, whatever the flood does
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        samples.push(await honestAlive().catch(() => 0))
        await new Promise((r) => setTimeout(r, 500))
      }
    })()
    const sent = await floodAdverts(attacker, FAKES, async (n) => {
      if (n === FAKES / 2) rssHalfway = rssMB(victim)
      if (process.env.FLOOD_VERBOSE)
        console.log(
          `${Date.now() - started} ms: ${n} sent, honest alive ${samples.at(-1)}, rss ${rssMB(victim)} MB, ${JSON.stringify(tables(victim))}`
        )
      if (n % 2_500 !== 0) return
      const status = (await complete().catch(() => undefined))?.status
      if (status === 200) requests.ok++
      else requests.failed++
    })
    const floodMs = Date.now() - started
    // the victim works through what is queued; keep watching the honest providers meanwhile
    await new Promise((r) => setTimeout(r, 10_000))
    sampling = false
    await sampler
    const after = await complete()
    const rssAfter = rssMB(victim)
    const sizes = tables(victim)
    const listed = (await victim.get('/api/peers?all=1')).peers.length
    const available = samples.filter((s) => s === 2).length / samples.length
    console.log(
      `flood: ${sent} adverts from fresh identities in ${floodMs} ms; honest providers both alive in ` +
        `${(available * 100).toFixed(1)} % of ${samples.length} samples (min ${Math.min(...samples)}); requests during the flood ` +
        `${requests.ok} ok / ${requests.failed} failed, after: ${after.status}; victim tables ${JSON.stringify(sizes)}, ` +
        `/api/peers?all=1 lists ${listed}; victim RSS ${rssBefore} MB before, ${rssHalfway} MB halfway, ${rssAfter} MB after`
    )
    if (Math.min(...samples) < 2)
      console.log(
        victim
          .logs()
          .split('\n')
          .filter((l) => l.includes('no longer routable'))
          .join('\n')
      )
    expect(after.status).toBe(200)
    expect(Math.min(...samples)).toBe(2)
    expect(requests.failed).toBe(0)
    expect(listed).toBeLessThanOrEqual(2 + 1) // the providers (and at most the attacker itself, which serves nothing)
    expect(sizes?.watched ?? 0).toBeLessThanOrEqual(1_024)
    expect(sizes?.unverified ?? 0).toBeLessThanOrEqual(256)
    // bounded by the tables' caps and gossipsub's time-bounded caches, not by the number of adverts
    expect(rssAfter - rssBefore).toBeLessThan(200)
    expect(victim.proc.exitCode).toBeNull()
  })
})
