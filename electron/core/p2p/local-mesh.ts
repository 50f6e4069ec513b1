import type { AddressScope } from './address-scope'

/**
 * Inbound connection limits libp2p applies per source IP (5 new connections a second, 10 pending
 * upgrades at a time) protect a public node from one host's flood. In a mesh scoped to this machine
 * every peer is that one host, 127.0.0.1: 30 local nodes joining through one bootstrap peer were
 * refused for minutes and some never joined. Only the loopback scope lets loopback past those
 * limits (a peer that reaches us from 127.0.0.1 runs here); LAN and public scopes keep them.
 */
export function loopbackConnectionAllowList(scope: AddressScope): string[] {
  return scope === 'loopback' ? ['/ip4/127.0.0.0/ipcidr/8', '/ip6/::1/ipcidr/128'] : []
}
