import { BlockList } from 'node:net'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import {
  connectionKind,
  relayBudget,
  relayLimitReason,
  relayNeed
} from '../../../electron/core/p2p/reachability-connection'
import { dialRank, relayAwareAddressSorter } from '../../../electron/core/p2p/reachability-dial'
import { ReachabilityService, relayOf } from '../../../electron/core/p2p/reachability'
import { peerIdFromString } from '@libp2p/peer-id'

const RELAY = '12D3KooWDUofScKrw3AgmjABESWAYbYWX5p6WuFggbjCMJBdZKJv'
const ME = '12D3KooWBopCE6pvrqdo9cDu3c1MzMkwECw6vhxJKTrfaHnKXkLf'
const OTHER = '12D3KooWFx8p6k5P9xLbb3HqM6huWisMFJad3HBVSE4svDSC8rg2'
const circuit = `/ip4/198.51.100.1/tcp/4001/p2p/${RELAY}/p2p-circuit/p2p/${ME}`

/** A service over fake libp2p internals: what it was told, and what it asked for. */
function service(
  init: { mode?: 'auto' | 'public' | 'private'; verified?: Array<{ addr: string; verified: boolean }> } = {}
) {
  const listeners = new Map<string, (evt: CustomEvent) => void>()
  const listened: Multiaddr[][] = []
  const changes: string[] = []
  let addresses = [multiaddr('/ip4/10.1.0.2/tcp/4002'), multiaddr('/ip4/127.0.0.1/tcp/4002')]
  const svc = new ReachabilityService(
    {
      addressManager: {
        getAddresses: () => addresses,
        getAddressesWithMetadata: () =>
          (init.verified ?? []).map((v) => ({ multiaddr: multiaddr(v.addr), verified: v.verified }))
      },
      transportManager: {
        getAddrs: () => [multiaddr('/ip4/10.1.0.2/tcp/4002'), multiaddr('/ip4/127.0.0.1/tcp/4002')],
        listen: async (addrs) => void listened.push(addrs)
      },
      events: {
        addEventListener: ((type: string, fn: (evt: CustomEvent) => void) => listeners.set(type, fn)) as never,
        removeEventListener: ((type: string) => listeners.delete(type)) as never
      },
      logger: { forComponent: () => Object.assign(() => {}, { error: () => {}, trace: () => {} }) } as never
    },
    { mode: init.mode ?? 'auto', reservations: 2, onChange: (s) => changes.push(s) }
  )
  const identify = (peer: string, observed: string, opts: { relayed?: boolean } = {}): void =>
    listeners.get('peer:identify')!(
      new CustomEvent('peer:identify', {
        detail: {
          peerId: peerIdFromString(peer),
          observedAddr: multiaddr(observed),
          connection: {
            remoteAddr: multiaddr(opts.relayed ? circuit : '/ip4/198.51.100.1/tcp/4001'),
            limits: opts.relayed ? {} : undefined
          }
        }
      })
    )
  return { svc, identify, listened, changes, setAddresses: (a: string[]) => (addresses = a.map((s) => multiaddr(s))) }
}

describe('reachability status', () => {
  it('a peer that sees us at an address that is none of ours means a NAT: private, and the node listens on relays', async () => {
    const { svc, identify, listened, changes } = service()
    await svc.start()
    expect(svc.status).toBe('unknown')
    identify(RELAY, '/ip4/198.51.100.11/tcp/51234')
    expect(svc.status).toBe('private')
    expect(changes).toEqual(['private'])
    expect(listened).toHaveLength(1)
    expect(listened[0].map(String)).toEqual(['/p2p-circuit', '/p2p-circuit'])
    identify(OTHER, '/ip4/198.51.100.11/tcp/51299')
    expect(listened).toHaveLength(1) // reserves once
  })

  it('a peer that sees one of our own addresses is no NAT: a loopback or LAN mesh stays unknown and reserves nothing', async () => {
    const { svc, identify, listened } = service()
    await svc.start()
    identify(OTHER, '/ip4/10.1.0.2/tcp/4002')
    identify(RELAY, '/ip4/127.0.0.1/tcp/4002')
    expect(svc.status).toBe('unknown')
    expect(listened).toEqual([])
  })

  it('what a peer reached through a relay observes is ignored (it is the relay’s view)', async () => {
    const { svc, identify } = service()
    await svc.start()
    identify(OTHER, '/ip4/198.51.100.1/tcp/4001', { relayed: true })
    expect(svc.status).toBe('unknown')
  })

  it('a verified public address (AutoNAT, UPnP, announced) makes it public; a verified private one does not', async () => {
    const pub = service({ verified: [{ addr: '/ip4/8.8.4.4/tcp/4001', verified: true }] })
    await pub.svc.start()
    await pub.svc.afterStart()
    expect(pub.svc.status).toBe('public')
    const lan = service({
      verified: [
        { addr: '/ip4/192.168.1.5/tcp/4001', verified: true },
        { addr: '/ip4/8.8.4.4/tcp/4001', verified: false }
      ]
    })
    await lan.svc.start()
    await lan.svc.afterStart()
    expect(lan.svc.status).toBe('unknown')
  })

  it('the owner’s setting wins over observations', async () => {
    const { svc, identify } = service({ mode: 'public' })
    await svc.start()
    identify(RELAY, '/ip4/198.51.100.11/tcp/51234')
    expect(svc.status).toBe('public')
  })

  it('the view lists the relays that hold a slot and the advertised addresses', () => {
    const { svc, setAddresses } = service()
    setAddresses(['/ip4/10.1.0.2/tcp/4002', circuit])
    expect(svc.view()).toEqual({ status: 'unknown', relays: [RELAY], addresses: ['/ip4/10.1.0.2/tcp/4002', circuit] })
    expect(relayOf(multiaddr('/ip4/10.1.0.2/tcp/4002'))).toBeUndefined()
  })
})

describe('dial order', () => {
  const onLan = new BlockList()
  onLan.addSubnet('10.2.0.0', 24, 'ipv4')
  onLan.addSubnet('127.0.0.0', 8, 'ipv4')
  const addr = (s: string) => ({ multiaddr: multiaddr(s), isCertified: false })

  it('tries a relayed address before a private address of a network this host is not on', () => {
    const list = [
      addr('/ip4/10.1.0.2/tcp/4002'),
      addr(circuit),
      addr('/ip4/10.2.0.9/tcp/4002'),
      addr('/ip4/8.8.4.4/tcp/4001')
    ]
    const sorted = [...list].sort(relayAwareAddressSorter(() => onLan)).map((a) => a.multiaddr.toString())
    expect(sorted).toEqual(['/ip4/10.2.0.9/tcp/4002', '/ip4/8.8.4.4/tcp/4001', circuit, '/ip4/10.1.0.2/tcp/4002'])
  })

  it('keeps loopback and on-link peers first (tests and LAN meshes dial directly)', () => {
    expect(dialRank(addr('/ip4/127.0.0.1/tcp/4002'), onLan)).toBe(0)
    expect(dialRank(addr('/ip4/10.2.0.7/tcp/4002'), onLan)).toBe(0)
    expect(dialRank(addr(circuit), onLan)).toBe(1)
    expect(dialRank(addr('/ip4/192.168.1.5/tcp/4002'), onLan)).toBe(2)
  })
})

describe('connection kind and relay budget', () => {
  const peer = peerIdFromString(OTHER)
  const conn = (remote: string, limits?: { bytes?: bigint; seconds?: number }) => ({
    status: 'open',
    remoteAddr: multiaddr(remote),
    limits
  })
  const libp2p = (conns: unknown[]) => ({ getConnections: () => conns as never })

  it('direct wins over relayed; nothing open is none', () => {
    expect(connectionKind(libp2p([]), peer)).toBe('none')
    expect(connectionKind(libp2p([conn(circuit, { bytes: 10n })]), peer)).toBe('relayed')
    expect(connectionKind(libp2p([conn(circuit, { bytes: 10n }), conn('/ip4/10.1.0.2/tcp/1')]), peer)).toBe('direct')
    expect(connectionKind(libp2p([{ ...conn('/ip4/10.1.0.2/tcp/1'), status: 'closed' }]), peer)).toBe('none')
  })

  it("asked by id string, counts only that peer's connections among all of them", () => {
    const of = (id: string, remote: string, limits?: { bytes?: bigint }) => ({
      ...conn(remote, limits),
      remotePeer: peerIdFromString(id)
    })
    const all = [of(RELAY, '/ip4/10.1.0.2/tcp/1'), of(OTHER, circuit, { bytes: 10n })]
    const node = { getConnections: (id?: unknown) => (id === undefined ? all : []) as never }
    expect(connectionKind(node, OTHER)).toBe('relayed')
    expect(connectionKind(node, RELAY)).toBe('direct')
    expect(connectionKind(node, ME)).toBe('none')
  })

  it('the budget is the roomiest relayed connection, and none when a direct one exists', () => {
    const budget = relayBudget(
      libp2p([conn(circuit, { bytes: 1000n, seconds: 30 }), conn(circuit, { bytes: 5000n, seconds: 10 })]),
      peer
    )
    expect(budget).toEqual({ bytes: 5000, ms: 10_000 })
    expect(relayBudget(libp2p([conn(circuit, { bytes: 1n }), conn('/ip4/10.1.0.2/tcp/1')]), peer)).toBeUndefined()
  })

  it('a job fits when both its bytes and its time fit', () => {
    const call = { api: 'completions' as const, body: { model: 'm', prompt: 'hi', max_tokens: 100 } }
    const need = relayNeed(call, { tokensPerSecond: 100, ttftMs: 50 })
    expect(relayLimitReason({ bytes: 16 * 1024 * 1024, ms: 300_000 }, need)).toBeUndefined()
    expect(relayLimitReason({ bytes: 1024, ms: 300_000 }, need)).toMatch(/bytes/)
    expect(relayLimitReason({ bytes: 16 * 1024 * 1024, ms: 500 }, need)).toMatch(/ s more/)
    expect(relayLimitReason(undefined, need)).toBeUndefined()
  })
})
