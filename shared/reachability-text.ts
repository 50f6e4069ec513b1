import type { Reachability } from './api'

/** How the node is reached, in words, and what its owner can do about it (CLI and dashboard). */
export function describeReachability(r: Reachability): { summary: string; advice?: string } {
  const direct =
    'To be reached directly, forward a TCP port to this machine and start with --p2p-port N --announce /ip4/<public IP>/tcp/N, or allow UPnP with --upnp.'
  if (r.status === 'public') {
    return {
      summary: 'public: peers dial this node directly; it relays for peers behind NAT (relay.enabled in config.json)'
    }
  }
  if (r.status === 'private') {
    const n = r.relays.length
    return n > 0
      ? { summary: `behind NAT: reached through ${n} relay${n === 1 ? '' : 's'}, within their limits`, advice: direct }
      : {
          summary: 'behind NAT, no relay slot yet: peers cannot dial this node',
          advice: `${direct} A relay is any publicly reachable peer (bootstrap through one).`
        }
  }
  return {
    summary: 'not known yet: peers on this LAN or host dial it directly',
    advice: 'A node with a public address serves as a relay for peers behind NAT (on by default).'
  }
}
