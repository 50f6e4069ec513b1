import { peerIdFromString } from '@libp2p/peer-id'
import { type BenchLibp2p, type LinkProbe, probeLink } from './bench-protocol'
import type { Logger } from '../util/logger'
import type { Startable } from '../util/startable'

/** Probe size over a relayed connection: ~1 % of the default relay limit (16 MiB) per probe. */
const RELAYED_PROBE_BYTES = 16 * 1024
export interface LinkProberComponents {
  libp2p: BenchLibp2p
  /** peer ids (strings) worth probing now, e.g. the alive providers of the peer table */
  peers: () => string[]
  onResult: (peerId: string, probe: LinkProbe) => void
  /** Peers reached only through a relay get a small probe: the relay limits the bytes of a connection. */
  isRelayed?: (peerId: string) => boolean
  logger?: Logger
}

export interface LinkProberInit {
  /** at most one peer is probed per tick (default 20 s): a new one first, else the stalest */
  intervalMs?: number
  /** a link measured this recently is not measured again (default 5 min) */
  refreshMs?: number
  /**
   * once every peer is measured, re-measures come at most one per this (default refreshMs / 2, the
   * pace of two peers): each link is re-measured every max(refreshMs, peers × spacing), so the idle
   * probe traffic stays flat however many providers a node knows
   */
  refreshSpacingMs?: number
  /** payload per probe (default 256 KiB) */
  bytes?: number
}

export interface LinkProber extends Startable {
  /** the latest result per peer */
  get(peerId: string): (LinkProbe & { at: number }) | undefined
  /** probe one peer now (also used by the timer) */
  probe(peerId: string, options?: { signal?: AbortSignal }): Promise<LinkProbe>
}

/**
 * Measures the link to known peers in the background, at most one peer per tick, so the traffic it
 * causes stays small and even: bytes / intervalMs at most, whatever the size of the mesh. A new peer
 * is measured at the next tick; a measured one again only once its result is `refreshMs` old, and
 * with many peers later still (`refreshSpacingMs`), so a settled node probes rarely, as rarely with
 * eleven providers as with two.
 */
export function createLinkProber(components: LinkProberComponents, init: LinkProberInit = {}): LinkProber {
  const intervalMs = init.intervalMs ?? 20_000
  const bytes = init.bytes ?? 256 * 1024
  const refreshMs = init.refreshMs ?? 5 * 60_000
  const refreshSpacingMs = init.refreshSpacingMs ?? refreshMs / 2
  const results = new Map<string, LinkProbe & { at: number }>()
  let timer: NodeJS.Timeout | undefined
  let controller: AbortController | undefined
  /** When each current peer was last probed by the timer (failed probes count: no retry every tick). */
  const triedAt = new Map<string, number>()
  let running = false

  async function probe(peerId: string, options: { signal?: AbortSignal } = {}): Promise<LinkProbe> {
    const signals = [AbortSignal.timeout(Math.max(5_000, intervalMs))]
    if (options.signal) signals.push(options.signal)
    const size = components.isRelayed?.(peerId) === true ? RELAYED_PROBE_BYTES : bytes
    const result = await probeLink(components.libp2p, peerIdFromString(peerId), {
      bytes: size,
      signal: AbortSignal.any(signals)
    })
    results.set(peerId, { ...result, at: Date.now() })
    const current = new Set(components.peers())
    for (const known of results.keys()) if (!current.has(known) && known !== peerId) results.delete(known)
    components.onResult(peerId, result)
    return result
  }

  async function tick(): Promise<void> {
    if (running || !controller) return
    const peerId = stalest(components.peers())
    if (peerId === undefined) return
    triedAt.set(peerId, Date.now())
    running = true
    try {
      await probe(peerId, { signal: controller.signal })
    } catch (err) {
      components.logger?.debug('link probe failed', { peerId, err })
    } finally {
      running = false
    }
  }

  /** A peer never probed, else the one probed longest ago if that is older than the refresh age. */
  function stalest(peers: string[]): string | undefined {
    const current = new Set(peers)
    for (const known of triedAt.keys()) if (!current.has(known)) triedAt.delete(known)
    let pick: string | undefined
    let pickAt = Date.now() - Math.max(refreshMs, peers.length * refreshSpacingMs)
    for (const peerId of peers) {
      const at = triedAt.get(peerId) ?? -Infinity
      if (at <= pickAt) {
        pick = peerId
        pickAt = at
      }
    }
    return pick
  }

  return {
    get: (peerId) => results.get(peerId),
    probe,
    async start() {
      controller = new AbortController()
      timer = setInterval(() => void tick(), intervalMs)
      timer.unref()
    },
    async stop() {
      clearInterval(timer)
      controller?.abort()
      controller = undefined
    }
  }
}
