import { BlockList, isIPv4 } from 'node:net'
import { networkInterfaces } from 'node:os'
import type { Address, AddressSorter } from '@libp2p/interface'
import { getNetConfig } from '@libp2p/utils'
import { isRelayed } from './reachability'

/**
 * Addresses that lead somewhere only on their own network: RFC 1918, carrier-grade NAT, benchmarking,
 * unique-local, link-local, loopback (the same notion as the address gater; documentation ranges
 * count as routable, which is what lets a test build its "internet" out of them).
 */
const LOCAL_ONLY = new BlockList()
for (const [address, prefix, family] of [
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['::1', 128, 'ipv6']
] as const) {
  LOCAL_ONLY.addSubnet(address, prefix, family)
}

/** How long the list of this host's own networks is reused before it is read again. */
const NETWORKS_TTL_MS = 10_000

/** The networks this host is on (its interfaces' subnets), re-read at most every 10 s. */
export function localNetworks(read: typeof networkInterfaces = networkInterfaces): () => BlockList {
  let cached: { at: number; list: BlockList } | undefined
  return () => {
    if (cached !== undefined && Date.now() - cached.at < NETWORKS_TTL_MS) return cached.list
    const list = new BlockList()
    for (const entries of Object.values(read())) {
      for (const entry of entries ?? []) {
        const [address, prefix] = (entry.cidr ?? '').split('/')
        if (address === undefined || prefix === undefined) continue
        list.addSubnet(address, Number(prefix), entry.family === 'IPv4' ? 'ipv4' : 'ipv6')
      }
    }
    cached = { at: Date.now(), list }
    return list
  }
}

/**
 * 0: a public address, or a private one on a network this host is on; 1: a relayed address;
 * 2: a private address of some other network. A peer behind NAT advertises its LAN address and
 * its relayed one; from elsewhere the LAN address leads nowhere (a dial hangs until libp2p's
 * per-address timeout), so the relay is tried before it, while a peer on our own LAN is still
 * dialled directly first.
 */
export function dialRank(address: Address, networks: BlockList): number {
  const addr = address.multiaddr
  if (isRelayed(addr)) return 1
  let host: string
  try {
    host = getNetConfig(addr).host
  } catch {
    return 0 // not an IP address (dns…): no opinion
  }
  const family = isIPv4(host) ? 'ipv4' : 'ipv6'
  if (!LOCAL_ONLY.check(host, family)) return 0
  return networks.check(host, family) ? 0 : 2
}

/** libp2p's dial order, relay-aware: see dialRank; certified addresses first within a rank. */
export function relayAwareAddressSorter(networks: () => BlockList = localNetworks()): AddressSorter {
  return (a, b) => {
    const list = networks()
    const byRank = dialRank(a, list) - dialRank(b, list)
    if (byRank !== 0) return byRank < 0 ? -1 : 1
    if (a.isCertified !== b.isCertified) return a.isCertified ? -1 : 1
    return 0
  }
}
