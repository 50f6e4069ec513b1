import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerBenchProtocol } from '../../../electron/core/p2p/bench-protocol'
import { createLinkProber } from '../../../electron/core/p2p/link-prober'
import { startTcpTestNode } from '../../helpers/tcp-test-node'

function node() {
  return startTcpTestNode({ services: { ping: ping(), identify: identify() } })
}

type Node = Awaited<ReturnType<typeof node>>
let prober: Node
let servers: Node[]
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

beforeAll(async () => {
  ;[prober, ...servers] = await Promise.all([node(), node(), node()])
  for (const server of servers) {
    await registerBenchProtocol(server, { maxBytes: 1024 * 1024, minIntervalMs: 0, maxConcurrent: 2 })
    await prober.dial(server.getMultiaddrs()[0])
  }
})

afterAll(async () => {
  await Promise.all([prober, ...servers].map((n) => n?.stop()))
})

describe('background link prober', () => {
  it('measures each new peer once, then leaves a fresh result alone (no probe every tick)', async () => {
    const ids = servers.map((s) => s.peerId.toString())
    const probed: string[] = []
    const linkProber = createLinkProber(
      { libp2p: prober, peers: () => ids, onResult: (id) => probed.push(id) },
      { intervalMs: 100, bytes: 16 * 1024, refreshMs: 60_000 }
    )
    await linkProber.start()
    try {
      await sleep(1_500)
    } finally {
      await linkProber.stop()
    }
    // ~15 ticks: round robin would probe each peer 7 times; each is measured once and stays fresh
    expect(probed.sort()).toEqual([...ids].sort())
  })

  it('re-measures a link once its result is older than refreshMs, stalest first', async () => {
    const ids = servers.map((s) => s.peerId.toString())
    const probed: string[] = []
    const linkProber = createLinkProber(
      { libp2p: prober, peers: () => ids, onResult: (id) => probed.push(id) },
      { intervalMs: 100, bytes: 16 * 1024, refreshMs: 500 }
    )
    await linkProber.start()
    try {
      await sleep(1_400)
    } finally {
      await linkProber.stop()
    }
    expect(probed.length).toBeGreaterThanOrEqual(4)
    expect(probed.length).toBeLessThanOrEqual(8)
    expect(probed[2]).toBe(probed[0])
  })
  it('re-measures no faster than one link per refreshSpacingMs, however many links are stale', async () => {
    const ids = servers.map((s) => s.peerId.toString())
    const probed: string[] = []
    const linkProber = createLinkProber(
      { libp2p: prober, peers: () => ids, onResult: (id) => probed.push(id) },
      // each result is stale after 200 ms, but two peers at 400 ms apart re-measure each every 800 ms
      { intervalMs: 100, bytes: 16 * 1024, refreshMs: 200, refreshSpacingMs: 400 }
    )
    await linkProber.start()
    try {
      await sleep(1_400)
    } finally {
      await linkProber.stop()
    }
    // the first round at ~100 and ~200 ms, each again at ~900 and ~1,000 ms (by refreshMs alone: ~13)
    expect(probed.length).toBeGreaterThanOrEqual(3)
    expect(probed.length).toBeLessThanOrEqual(5)
  })
})
