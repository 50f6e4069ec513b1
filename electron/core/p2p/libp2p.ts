import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { gossipsub } from '@libp2p/gossipsub'
import { createPeerScoreParams } from '@libp2p/gossipsub/score'
import { identify } from '@libp2p/identify'
import type { PeerDiscovery, PrivateKey, Transport } from '@libp2p/interface'
import { kadDHT } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import { createLibp2p } from 'libp2p'
import type { Config } from '../config'
import { advertTopicScoreParams } from './advert-gossip'
import { REPUTATION_TOPIC } from '../../../shared/reputation'
import { contentMsgId, fastContentMsgId, ipColocationWhitelist, reputationTopicScoreParams } from './gossip-config'
import { ADVERT_TOPIC } from './advertiser'
import { connectionGaterFor } from './address-gater'
import { corkedTcp } from './corked-tcp'
import { meshNoise } from './noise-frames'
import { batchYamuxWindowUpdates } from './yamux-window'
import { peerInfoMapperFor, resolveAddressScope } from './address-scope'
import { ADDRESS_DIAL_TIMEOUT_MS } from './dial-timeouts'
import { connectionPinger } from './connection-pinger'
import { duplicateConnections } from './duplicate-connections'
import { departedPeers } from './departed-peers'
import { connectedContacts } from './connected-contacts'
import { identifyRetry } from './identify-retry'
import { knownProtocols } from './known-protocols'
import { relayAwareAddressSorter } from './reachability-dial'
import { reachabilityStack } from './reachability-stack'
import { loopbackConnectionAllowList } from './local-mesh'

export const DHT_PROTOCOL = '/meshwork/kad/1.0.0'
const LOOKUP_CONCURRENCY = 2

export type MeshLibp2p = Awaited<ReturnType<typeof createMeshLibp2p>>

/** Tests and benches run many nodes in one process: an in-process transport in place of TCP. */
export interface MeshTransportOverride {
  transport: (components: any) => Transport
  /** e.g. `/memory/<name>` */
  listen: string[]
}

/**
 * TCP (a tick's writes joined) + noise (frames split without a throw per chunk) + yamux + identify +
 * ping + our own kad-dht + gossipsub; bootstrap list and mDNS.
 * The connection gater refuses to dial what the address scope excludes (and cloud metadata always).
 */
export async function createMeshLibp2p(privateKey: PrivateKey, config: Config, override?: MeshTransportOverride) {
  const peerDiscovery: Array<(components: any) => PeerDiscovery> = []
  if (config.bootstrap.length > 0) peerDiscovery.push(bootstrap({ list: config.bootstrap, timeout: 100 }))
  if (config.mdns) peerDiscovery.push(mdns({ serviceTag: 'meshwork.local' }))
  const scope = resolveAddressScope(config)
  const reach = reachabilityStack(config)
  batchYamuxWindowUpdates()

  const node = await createLibp2p({
    privateKey,
    start: false,
    addresses: {
      listen: override?.listen ?? [`/ip4/${config.p2pHost}/tcp/${config.p2pPort}`],
      appendAnnounce: config.announce
    },
    transports: [override?.transport ?? corkedTcp(), ...reach.transports],
    connectionEncrypters: [meshNoise()],
    // yamux's keep-alive pings every connection both ways every 30 s and closes nothing when a ping
    // fails; the pinger (below) already pings, and aborts a dead connection
    streamMuxers: [yamux({ enableKeepAlive: false })],
    peerDiscovery,
    // a NATed peer's LAN address is tried after its relayed one, unless we are on that LAN
    connectionManager: {
      maxConnections: 200,
      addressSorter: relayAwareAddressSorter(),
      addressDialTimeout: ADDRESS_DIAL_TIMEOUT_MS,
      allow: loopbackConnectionAllowList(scope)
    },
    // in its place the pinger below pings from the dialling end only (connection-pinger.ts)
    connectionMonitor: { enabled: false },
    connectionGater: { ...connectionGaterFor(scope), ...reach.gater },
    services: {
      identify: identify(),
      identifyRetry: identifyRetry(),
      ping: ping(),
      // libp2p's monitor aborts a connection whose ping takes over 5 s; a node busy with a flood (or a
      // loaded machine) is slow, not gone, and losing the connection would drop honest providers with
      // it. Dead peers are still found: closed sockets at once, frozen ones by missed adverts and
      // stalls. Once a minute, not every 10 s: a node holds a connection to most of a small mesh, and
      // at 30 peers the default was the largest share of an idle node's streams.
      pinger: connectionPinger({ intervalMs: 60_000, timeout: { minTimeout: 20_000 } }),
      duplicates: duplicateConnections(),
      // libp2p writes each stream's protocol to the peer store, a record that already holds it
      knownProtocols: knownProtocols(),
      ...reach.services,
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: false,
        peerInfoMapper: peerInfoMapperFor(scope),
        // kad-dht's defaults (10 at a time on each of 20 paths) put a request to every one of the 20
        // closest peers in flight at once; closest first, two at a time, lets a provider lookup stop
        // once the record holders have answered (provider-lookup.ts)
        alpha: LOOKUP_CONCURRENCY,
        disjointPaths: LOOKUP_CONCURRENCY,
        // re-provide often enough that a restarted router finds providers quickly
        reprovide: { interval: 60_000 }
      }),
      // kad-dht would dial every peer a lookup answer names, to ping it for its routing table
      contacts: connectedContacts(),
      // kad-dht and the peer store keep a peer that left for hours: forget it once it stops answering
      departed: departedPeers(),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        // ids by content: the same payload under a new gossipsub seqno is still a duplicate
        msgIdFn: contentMsgId,
        fastMsgIdFn: fastContentMsgId,
        // lazy gossip (IHAVE) each heartbeat to 3 peers outside the mesh, not to a quarter of them with
        // at least 6: it went to more peers as a node's connections grew, and at 100 peers it was two
        // thirds of an idle node's gossip. The mesh floods every message; adverts are re-sent each
        // heartbeat and fetched when one is missed, so less repair gossip loses nothing
        Dlazy: 3,
        gossipFactor: 0,
        // a forged advert or summary (validator: Reject) costs its sender score; a few and it is graylisted
        scoreParams: createPeerScoreParams({
          IPColocationFactorWhitelist: ipColocationWhitelist(scope),
          topics: { [ADVERT_TOPIC]: advertTopicScoreParams(), [REPUTATION_TOPIC]: reputationTopicScoreParams() }
        })
      })
    }
  })
  reach.attach(node)
  return node
}
