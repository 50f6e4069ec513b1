import type { NodeEventMap, NodeEvents } from './events'
import type { Logger } from './util/logger'
import { MeshworkError } from './util/errors'
import type { AbortOptions, Startable } from './util/startable'
import { ADVERT_PROTOCOL, registerAdvertProtocol } from './p2p/advert-protocol'
import { registerBenchProtocol } from './p2p/bench-protocol'
import type { MeshLibp2p } from './p2p/libp2p'

/**
 * Startable wrappers for parts of the node that have no lifecycle class of their own: the libp2p
 * node, protocol handlers that are functions, and objects that only need stopping.
 */

/** libp2p; a taken port says which flag chooses another, instead of libp2p's stack trace. */
export function libp2pService(libp2p: MeshLibp2p, where: { host: string; port: number }): Startable {
  return {
    async start() {
      await Promise.resolve(libp2p.start()).catch((err: Error) => {
        if (!/EADDRINUSE/.test(err.message)) throw err
        const at = `${where.host}:${where.port}`
        throw new MeshworkError(
          `the P2P port ${at} is already in use: choose another with --p2p-port N, or --p2p-port 0 for any free port`,
          'p2p_port_in_use',
          500,
          {
            cause: err
          }
        )
      })
    },
    async stop() {
      await libp2p.stop()
    }
  }
}

/**
 * Serves this node's current signed advert to peers that ask for it; none for a node that serves
 * nothing. Only a node that serves speaks the advert protocol, so identify tells a peer that a router
 * has no advert: the peer neither watches it nor starts another lookup round for it.
 */
export function advertProtocolService(
  libp2p: MeshLibp2p,
  advert: { serves: boolean; current: () => Uint8Array | undefined },
  logger: Logger
): Startable | undefined {
  if (!advert.serves) return undefined
  return {
    start: () => registerAdvertProtocol(libp2p, advert.current, logger),
    stop: () => libp2p.unhandle(ADVERT_PROTOCOL)
  }
}

/** Answers link probes from peers (bounded in bytes and rate). */
export function benchProtocolService(libp2p: MeshLibp2p): Startable {
  let unregister: (() => Promise<void>) | undefined
  return {
    async start() {
      unregister = await registerBenchProtocol(libp2p)
    },
    async stop() {
      await unregister?.()
    }
  }
}

/** Something that holds resources from construction and only needs releasing at stop. */
export function stopOnly(stop: (options?: AbortOptions) => void | Promise<void>): Startable {
  return {
    async start() {},
    async stop(options) {
      await stop(options)
    }
  }
}

/** A listener on the node's events while the node runs: added at start, removed at stop. */
export function listening<K extends keyof NodeEventMap>(
  events: NodeEvents,
  name: K,
  handler: (...args: NodeEventMap[K]) => void
): Startable {
  const listener = handler as Parameters<NodeEvents['on']>[1]
  return {
    async start() {
      events.on(name, listener)
    },
    async stop() {
      events.off(name, listener)
    }
  }
}
