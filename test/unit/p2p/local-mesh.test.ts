import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import type { AddressScope } from '../../../electron/core/p2p/address-scope'
import { loopbackConnectionAllowList } from '../../../electron/core/p2p/local-mesh'

const started: Libp2p[] = []

async function node(allow: string[] = []): Promise<Libp2p> {
  const n = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { allow }
  })
  started.push(n)
  return n
}

/** How many of `count` local nodes joining at once get a connection to one bootstrap node. */
async function joined(scope: AddressScope, count: number): Promise<number> {
  const bootstrap = await node(loopbackConnectionAllowList(scope))
  const joiners = await Promise.all(Array.from({ length: count }, () => node()))
  const results = await Promise.allSettled(
    joiners.map((j) => j.dial(bootstrap.getMultiaddrs()[0], { signal: AbortSignal.timeout(10_000) }))
  )
  return results.filter((r) => r.status === 'fulfilled').length
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((n) => n.stop()))
})

describe('a mesh of local processes joining through one bootstrap peer', () => {
  it('lets every local node in at once when the mesh is scoped to loopback', async () => {
    expect(await joined('loopback', 12)).toBe(12)
  })

  it('keeps the per-host inbound limit (5 a second) on LAN and public scopes', async () => {
    expect(await joined('lan', 12)).toBeLessThan(12)
    expect(loopbackConnectionAllowList('public')).toEqual([])
  })
})
