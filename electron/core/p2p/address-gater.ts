import { BlockList, isIPv4, isIPv6 } from 'node:net'
import type { ConnectionGater } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { AddressScope } from './address-scope'

type Range = [address: string, prefix: number, family: 'ipv4' | 'ipv6']

function blockList(ranges: Range[]): BlockList {
  const list = new BlockList()
  for (const [address, prefix, family] of ranges) list.addSubnet(address, prefix, family)
  return list
}

/** Cloud instance-metadata endpoints: a peer must never make us fetch from them, whatever the scope. */
const METADATA = blockList([
  ['169.254.169.254', 32, 'ipv4'], // AWS, GCP, Azure, OpenStack, DigitalOcean…
  ['169.254.170.2', 32, 'ipv4'], // AWS ECS task metadata
  ['100.100.100.200', 32, 'ipv4'], // Alibaba Cloud
  ['fd00:ec2::254', 128, 'ipv6'] // AWS over IPv6
])
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata', 'instance-data', 'instance-data.ec2.internal'])

/** Loopback, and the unspecified address, which a dial on Linux also reaches the local host with. */
const LOOPBACK = blockList([
  ['127.0.0.0', 8, 'ipv4'],
  ['0.0.0.0', 8, 'ipv4'],
  ['::1', 128, 'ipv6'],
  ['::', 128, 'ipv6']
])
const LINK_LOCAL = blockList([
  ['169.254.0.0', 16, 'ipv4'],
  ['fe80::', 10, 'ipv6']
])
/** Not routable on the public internet: RFC 1918, carrier-grade NAT, benchmarking, unique-local. */
const PRIVATE = blockList([
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['fc00::', 7, 'ipv6']
])

function hostOf(addr: Multiaddr): { kind: 'ip4' | 'ip6' | 'dns'; value: string } | undefined {
  for (const part of addr.getComponents()) {
    if (part.name === 'ip4' || part.name === 'ip6') return { kind: part.name, value: part.value ?? '' }
    if (part.name === 'dns' || part.name === 'dns4' || part.name === 'dns6' || part.name === 'dnsaddr') {
      return { kind: 'dns', value: (part.value ?? '').toLowerCase() }
    }
  }
  return undefined
}

/**
 * Why this node must not dial `addr` in `scope`, or undefined when it may.
 * `public` dials only publicly routable hosts; `lan` adds private ranges; `loopback` (tests, one
 * machine) adds 127.0.0.1 and ::1. Link-local and cloud metadata addresses are refused in every
 * scope: a hostile advert or DHT record must not turn the node into a probe of its own host.
 */
export function dialDeniedReason(addr: Multiaddr, scope: AddressScope): string | undefined {
  const host = hostOf(addr)
  if (host === undefined) return undefined // circuit relay and other host-less addresses: the relay was gated
  if (host.kind === 'dns') {
    if (METADATA_NAMES.has(host.value)) return 'cloud metadata host'
    if (scope !== 'loopback' && (host.value === 'localhost' || host.value.endsWith('.localhost')))
      return 'loopback host'
    return undefined // a name is resolved first, and the resolved address is gated again
  }
  const family = host.kind === 'ip4' ? 'ipv4' : 'ipv6'
  if (host.kind === 'ip4' ? !isIPv4(host.value) : !isIPv6(host.value)) return 'malformed address'
  if (METADATA.check(host.value, family)) return 'cloud metadata address'
  if (LINK_LOCAL.check(host.value, family)) return 'link-local address'
  if (LOOPBACK.check(host.value, family)) return scope === 'loopback' ? undefined : 'loopback address'
  if (PRIVATE.check(host.value, family)) return scope === 'public' ? 'private address' : undefined
  return undefined
}

/** A libp2p connection gater that refuses to dial what the node's address scope excludes. */
export function connectionGaterFor(scope: AddressScope): ConnectionGater {
  return { denyDialMultiaddr: (addr: Multiaddr) => dialDeniedReason(addr, scope) !== undefined }
}
