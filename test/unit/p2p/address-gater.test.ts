import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { connectionGaterFor, dialDeniedReason } from '../../../electron/core/p2p/address-gater'
import type { AddressScope } from '../../../electron/core/p2p/address-scope'

const allowed = (addr: string, scope: AddressScope) => dialDeniedReason(multiaddr(addr), scope) === undefined

describe('the dial gater refuses what the address scope excludes', () => {
  it('never dials cloud metadata or link-local addresses, in any scope', () => {
    for (const scope of ['public', 'lan', 'loopback'] as const) {
      expect(dialDeniedReason(multiaddr('/ip4/169.254.169.254/tcp/80'), scope)).toMatch(/metadata/)
      expect(dialDeniedReason(multiaddr('/ip4/100.100.100.200/tcp/80'), scope)).toMatch(/metadata/)
      expect(dialDeniedReason(multiaddr('/ip6/fd00:ec2::254/tcp/80'), scope)).toMatch(/metadata/)
      expect(dialDeniedReason(multiaddr('/dns4/metadata.google.internal/tcp/80'), scope)).toMatch(/metadata/)
      expect(dialDeniedReason(multiaddr('/ip4/169.254.1.7/tcp/4001'), scope)).toMatch(/link-local/)
      expect(dialDeniedReason(multiaddr('/ip6/fe80::1/tcp/4001'), scope)).toMatch(/link-local/)
      // an IPv4 address dressed as IPv6 is the same address
      expect(allowed('/ip6/::ffff:169.254.169.254/tcp/80', scope)).toBe(false)
    }
  })

  it('public: only publicly routable hosts', () => {
    for (const addr of [
      '/ip4/127.0.0.1/tcp/4001',
      '/ip4/0.0.0.0/tcp/4001',
      '/ip6/::1/tcp/4001',
      '/ip4/10.1.2.3/tcp/4001',
      '/ip4/192.168.1.5/tcp/4001',
      '/ip4/172.20.0.2/tcp/4001',
      '/ip4/100.64.3.3/tcp/4001',
      '/ip6/fd12::1/tcp/4001',
      '/dns4/localhost/tcp/4001',
      '/ip6/::ffff:127.0.0.1/tcp/4001'
    ]) {
      expect(allowed(addr, 'public'), addr).toBe(false)
    }
    expect(allowed('/ip4/8.8.8.8/tcp/4001', 'public')).toBe(true)
    expect(
      allowed('/ip6/2001:4860::8888/tcp/4001/p2p/12D3KooWGRUVh8xwqhr6s7fNQJKiNnNydNVHoPUVF6KaXmcsDwGN', 'public')
    ).toBe(true)
    expect(allowed('/dns4/example.com/tcp/4001', 'public')).toBe(true)
  })

  it('lan: private ranges too, but not loopback', () => {
    expect(allowed('/ip4/192.168.1.5/tcp/4001', 'lan')).toBe(true)
    expect(allowed('/ip4/10.0.0.9/tcp/4001', 'lan')).toBe(true)
    expect(allowed('/ip4/8.8.8.8/tcp/4001', 'lan')).toBe(true)
    expect(allowed('/ip4/127.0.0.1/tcp/4001', 'lan')).toBe(false)
    expect(allowed('/ip4/0.0.0.0/tcp/4001', 'lan')).toBe(false)
    expect(allowed('/ip6/::1/tcp/4001', 'lan')).toBe(false)
  })

  it('loopback: 127.0.0.1 and ::1 as well', () => {
    expect(allowed('/ip4/127.0.0.1/tcp/4001', 'loopback')).toBe(true)
    expect(allowed('/ip6/::1/tcp/4001', 'loopback')).toBe(true)
    expect(allowed('/dns4/localhost/tcp/4001', 'loopback')).toBe(true)
  })

  it('is what libp2p asks before each dial', async () => {
    const gater = connectionGaterFor('public')
    expect(await gater.denyDialMultiaddr?.(multiaddr('/ip4/169.254.169.254/tcp/80'))).toBe(true)
    expect(await gater.denyDialMultiaddr?.(multiaddr('/ip4/1.1.1.1/tcp/80'))).toBe(false)
  })
})

describe('the node refuses the dial itself', () => {
  it('a libp2p node in public scope never opens a socket to cloud metadata or loopback', async () => {
    const { generateKeyPair } = await import('@libp2p/crypto/keys')
    const { loadConfig } = await import('../../../electron/core/config')
    const { createMeshLibp2p } = await import('../../../electron/core/p2p/libp2p')
    const config = loadConfig(
      { dataDir: '/nonexistent-unused', p2pHost: '127.0.0.1', p2pPort: 0, mdns: false, addressScope: 'public' },
      {}
    )
    const node = await createMeshLibp2p(await generateKeyPair('Ed25519'), config)
    await node.start()
    try {
      const target = '/p2p/12D3KooWGRUVh8xwqhr6s7fNQJKiNnNydNVHoPUVF6KaXmcsDwGN'
      for (const host of ['/ip4/169.254.169.254/tcp/80', '/ip4/127.0.0.1/tcp/4001', '/ip4/10.0.0.1/tcp/4001']) {
        await expect(node.dial(multiaddr(host + target), { signal: AbortSignal.timeout(5_000) })).rejects.toThrow(
          /denied|gater/i
        )
      }
    } finally {
      await node.stop()
    }
  })
})
