import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { reachabilityStack } from '../../../electron/core/p2p/reachability-stack'

const RELAY = '12D3KooWDUofScKrw3AgmjABESWAYbYWX5p6WuFggbjCMJBdZKJv'
const relay = {
  enabled: true,
  maxReservations: 15,
  limitDurationMs: 300_000,
  limitBytes: 16 * 1024 * 1024,
  reservations: 2
}

/** The stack's reachability service over fake libp2p internals, and a way to play an identify. */
function stackWithService(upnp = false, enabled = true) {
  const stack = reachabilityStack({ relay: { ...relay, enabled }, upnp, reachability: 'auto' })
  const modes: string[] = []
  stack.attach({ services: { dht: { setMode: async (mode) => void modes.push(mode) } } })
  let onIdentify: ((evt: CustomEvent) => void) | undefined
  const service = stack.services.reachability({
    addressManager: { getAddresses: () => [], getAddressesWithMetadata: () => [] },
    transportManager: { getAddrs: () => [multiaddr('/ip4/10.1.0.2/tcp/4002')], listen: async () => {} },
    events: {
      addEventListener: ((type: string, fn: (evt: CustomEvent) => void) => {
        if (type === 'peer:identify') onIdentify = fn
      }) as never,
      removeEventListener: (() => {}) as never
    },
    logger: { forComponent: () => Object.assign(() => {}, { error: () => {}, trace: () => {} }) } as never
  })
  const natSeen = (): void =>
    onIdentify!(
      new CustomEvent('peer:identify', {
        detail: {
          peerId: peerIdFromString(RELAY),
          observedAddr: multiaddr('/ip4/198.51.100.11/tcp/40000'),
          connection: { remoteAddr: multiaddr('/ip4/198.51.100.1/tcp/4001'), limits: undefined }
        }
      })
    )
  return { stack, service, modes, natSeen }
}

describe('the reachability stack', () => {
  it('behind NAT: the DHT turns client and the relay server refuses reservations', async () => {
    const { stack, service, modes, natSeen } = stackWithService()
    await service.start()
    expect(await stack.gater.denyInboundRelayReservation!(peerIdFromString(RELAY))).toBe(false)
    natSeen()
    await new Promise((r) => setImmediate(r))
    expect(modes).toEqual(['client'])
    expect(await stack.gater.denyInboundRelayReservation!(peerIdFromString(RELAY))).toBe(true)
  })

  it('has the relay server only when the owner leaves it on, and UPnP only when allowed', () => {
    expect('relay' in stackWithService(false, true).stack.services).toBe(true)
    expect('relay' in stackWithService(false, false).stack.services).toBe(false)
    expect('upnp' in stackWithService(false).stack.services).toBe(false)
    expect('upnp' in stackWithService(true).stack.services).toBe(true)
  })
})
