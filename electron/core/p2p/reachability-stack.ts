import { autoNAT } from '@libp2p/autonat'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import type { ConnectionGater } from '@libp2p/interface'
import { uPnPNAT } from '@libp2p/upnp-nat'
import type { ReachabilityStatus } from '../../../shared/api'
import type { Config } from '../config'
import { reachabilityService } from './reachability'

/** The part of the node the stack steers once it exists. */
interface DhtModeSwitch {
  services: { dht: { setMode(mode: 'client' | 'server'): Promise<void> } }
}

/**
 * libp2p's own reachability pieces, configured from the owner's settings:
 * - AutoNAT asks peers to dial us back, so a public address gets verified;
 * - the circuit relay transport dials relayed addresses, and (once we know we are behind NAT)
 *   reserves slots on a few relays and advertises the relayed addresses;
 * - the circuit relay server gives peers behind NAT a bounded relay here: limited slots, and a
 *   relayed connection is cut after `limitDurationMs` or `limitBytes`. It refuses reservations
 *   while this node is itself behind NAT (a relayed address through us would be useless);
 * - DCUtR upgrades a relayed connection to a direct one by hole punching (public addresses only);
 * - UPnP/NAT-PMP asks the home router for a port mapping, only where the owner allowed it;
 * - the DHT answers queries (server mode) unless this node is known to be behind NAT.
 */
export function reachabilityStack(config: Pick<Config, 'relay' | 'upnp' | 'reachability'>) {
  let status: ReachabilityStatus = 'unknown'
  let node: DhtModeSwitch | undefined

  function applyDhtMode(): void {
    node?.services.dht.setMode(status === 'private' ? 'client' : 'server').catch(() => {
      // the next change tries again; kad-dht logs its own errors
    })
  }

  const { relay } = config
  const services = {
    autoNAT: autoNAT(),
    dcutr: dcutr(),
    reachability: reachabilityService({
      mode: config.reachability,
      reservations: relay.reservations,
      onChange: (next) => {
        status = next
        applyDhtMode()
      }
    }),
    ...(relay.enabled
      ? {
          relay: circuitRelayServer({
            reservations: {
              maxReservations: relay.maxReservations,
              applyDefaultLimit: true,
              defaultDurationLimit: relay.limitDurationMs,
              defaultDataLimit: BigInt(relay.limitBytes)
            }
          })
        }
      : {}),
    ...(config.upnp ? { upnp: uPnPNAT({ portMappingDescription: 'meshwork' }) } : {})
  }

  const gater: Pick<ConnectionGater, 'denyInboundRelayReservation'> = {
    denyInboundRelayReservation: async () => status === 'private'
  }

  return {
    transports: [circuitRelayTransport({ reservationCompletionTimeout: 10_000 })],
    services,
    gater,
    /** Hands the started node to the stack, so the DHT mode can follow reachability. */
    attach(libp2p: DhtModeSwitch): void {
      node = libp2p
      if (status === 'private') applyDhtMode()
    }
  }
}
