import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLinkProber } from '../../electron/core/p2p/link-prober'
import {
  BENCH_PROTOCOL,
  type LinkProbe,
  probeLink,
  registerBenchProtocol
} from '../../electron/core/p2p/bench-protocol'

type Node = Libp2p<{ ping: ReturnType<ReturnType<typeof ping>>; identify: ReturnType<ReturnType<typeof identify>> }>

async function node(): Promise<Node> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { ping: ping(), identify: identify() }
  })
}

let prober: Node
let server: Node
let third: Node
const MAX = 2 * 1024 * 1024

beforeAll(async () => {
  ;[prober, server, third] = await Promise.all([node(), node(), node()])
  await registerBenchProtocol(server, { maxBytes: MAX, minIntervalMs: 500, maxConcurrent: 1 })
  await prober.dial(server.getMultiaddrs()[0])
  await third.dial(server.getMultiaddrs()[0])
})

afterAll(async () => {
  await Promise.all([prober?.stop(), server?.stop(), third?.stop()])
})

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('/meshwork/bench/1.0.0 between two real libp2p nodes on loopback', () => {
  it('measures RTT and throughput', async () => {
    const result = await probeLink(prober, server.peerId, { bytes: 1024 * 1024 })
    expect(result.rttMs).toBeGreaterThan(0)
    expect(result.rttMs).toBeLessThan(1000)
    // 1 MiB through noise + yamux on loopback: well above 1 Mbit/s even on a busy 2-core box
    expect(result.throughputMbps).toBeGreaterThan(1)
    expect(Number.isFinite(result.throughputMbps)).toBe(true)
  })

  it('refuses a payload over the limit, and probes from one peer faster than the interval', async () => {
    await pause(600)
    await expect(probeLink(prober, server.peerId, { bytes: MAX + 1 })).rejects.toMatchObject({
      code: 'bench_too_large'
    })
    await expect(probeLink(prober, server.peerId, { bytes: 1024 })).rejects.toMatchObject({ code: 'bench_busy' })
    await pause(600)
    await expect(probeLink(prober, server.peerId, { bytes: 1024 })).resolves.toMatchObject({
      throughputMbps: expect.any(Number)
    })
  })

  it('serves one probe at a time when configured so (other peers are turned away meanwhile)', async () => {
    await pause(600)
    const results = await Promise.allSettled([
      probeLink(prober, server.peerId, { bytes: MAX, pings: 1 }),
      probeLink(third, server.peerId, { bytes: MAX, pings: 1 })
    ])
    const codes = results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code?: string }).code))
    expect(codes.sort()).toEqual(['bench_busy', 'ok'])
  })

  it('limits concurrent outbound probes', async () => {
    await pause(600)
    const results = await Promise.allSettled(
      [1, 2, 3].map(() => probeLink(prober, server.peerId, { bytes: 1024, pings: 1 }))
    )
    expect(
      results.filter((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'bench_busy').length
    ).toBeGreaterThanOrEqual(1)
  })

  it('answers a raw client with 4 bytes only, and drops one that sends more than it declared', async () => {
    await pause(600)
    const honest = await prober.dialProtocol(server.peerId, BENCH_PROTOCOL)
    const received: number[] = []
    const reading = (async () => {
      for await (const piece of honest) received.push(piece.byteLength)
    })()
    honest.send(Uint8Array.of(0, 0, 0, 3, 7, 7, 7))
    await honest.close()
    await reading
    expect(received.reduce((a, b) => a + b, 0)).toBe(4)

    await pause(600)
    const liar = await prober.dialProtocol(server.peerId, BENCH_PROTOCOL)
    const ended = new Promise<string>((resolve) =>
      liar.addEventListener('close', (e) => resolve(e.error ? 'reset' : 'closed'))
    )
    liar.send(Uint8Array.of(0, 0, 0, 2))
    liar.send(new Uint8Array(4096))
    await liar.close().catch(() => {})
    expect(await ended).toBe('reset')
  })

  it('a background prober measures known peers and keeps the latest result', async () => {
    const seen: Array<[string, LinkProbe]> = []
    const target = server.peerId.toString()
    const prober = createLinkProber(
      { libp2p: third, peers: () => [target], onResult: (p, r) => seen.push([p, r]) },
      { intervalMs: 300, bytes: 64 * 1024 }
    )
    await prober.start()
    try {
      for (let i = 0; i < 50 && seen.length === 0; i++) await pause(100)
    } finally {
      await prober.stop()
    }
    expect(seen[0]?.[0]).toBe(target)
    expect(seen[0]?.[1].throughputMbps).toBeGreaterThan(0)
    expect(prober.get(target)).toMatchObject({ rttMs: seen.at(-1)?.[1].rttMs })
  })
})
