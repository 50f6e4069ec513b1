// libp2p nodes on 127.0.0.1 with kad-dht in server mode and one more service under test: for tests of
// services that work on kad-dht's routing table (departed peers, connected contacts).
import { identify } from '@libp2p/identify'
import { type KadDHTInit, kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import type { PeerId } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import { startTcpTestNode } from './tcp-test-node'

const DHT = '/meshwork-test/kad/1.0.0'

/** Starts nodes and remembers them; `stopAll` (in an afterEach) stops every one still listed. */
export function kadTestNodes(dhtInit: Partial<KadDHTInit> = {}) {
  let nodes: Libp2p<any>[] = []
  return {
    async start(services: Record<string, (components: any) => unknown> = {}): Promise<Libp2p<any>> {
      const node = await startTcpTestNode({
        services: {
          identify: identify(),
          ping: ping(),
          dht: kadDHT({ protocol: DHT, clientMode: false, peerInfoMapper: passthroughMapper, ...dhtInit }),
          ...services
        }
      })
      nodes.push(node)
      return node
    },
    /** A node the test stopped itself: not stopped again. */
    forget(node: Libp2p<any>): void {
      nodes = nodes.filter((n) => n !== node)
    },
    async stopAll(): Promise<void> {
      await Promise.all(nodes.map((node) => node.stop()))
      nodes = []
    }
  }
}

export const tableHas = (node: Libp2p<any>, peer: PeerId): Promise<boolean> =>
  node.services.dht.routingTable.find(peer).then((found: unknown) => found !== undefined)
