import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { AbortOptions } from '../util/startable'
import { INFER_PROTOCOL } from '../../../shared/infer'
import { openStreamTo } from './reachability-connection'

export interface InferDialerOptions {
  /** A warm stream older than this is closed instead of used (the provider gives up waiting at 30 s). */
  maxIdleMs?: number
}

interface Warm {
  stream: Stream
  at: number
}

/** Warm streams kept per recently used provider: one for the next request while the other refills. */
export const WARM_PER_PROVIDER = 2

/**
 * Opens infer streams, keeping already negotiated streams for each recently used provider. Protocol
 * negotiation costs a round trip plus libp2p's deferred delivery (a few ms on loopback); a warm
 * stream takes it off the request path, which is most of the mesh's added latency. Two are kept: a
 * stream is refilled only once its job is done, and a client that sends its next request a few ms
 * after the last answer (a chat, a script) would otherwise find the refill still negotiating.
 */
export class InferDialer implements Pick<Libp2p, 'dialProtocol'> {
  private readonly warm = new Map<string, Warm[]>()
  private readonly pending = new Set<string>()
  private readonly maxIdleMs: number
  private closed = false

  constructor(
    private readonly libp2p: Pick<Libp2p, 'dialProtocol' | 'getConnections'>,
    options: InferDialerOptions = {}
  ) {
    this.maxIdleMs = options.maxIdleMs ?? 20_000
  }

  async dialProtocol(peer: PeerId, protocols: string | string[], options: AbortOptions = {}): Promise<Stream> {
    if (protocols === INFER_PROTOCOL) {
      const warm = this.takeWarm(peer.toString())
      if (warm !== undefined) {
        this.refillAfter(peer, warm)
        return warm
      }
    }
    // send the protocol name together with the request: saves a round trip
    if (typeof protocols !== 'string') return this.libp2p.dialProtocol(peer, protocols, options)
    const stream = await openStreamTo(this.libp2p, peer, protocols, {
      ...options,
      negotiateFully: false
    } as AbortOptions)
    if (protocols === INFER_PROTOCOL) this.refillAfter(peer, stream)
    return stream
  }

  /** Close every warm stream (node stopping). */
  close(): void {
    this.closed = true
    for (const list of this.warm.values()) for (const { stream } of list) stream.abort(new Error('dialer closed'))
    this.warm.clear()
  }

  /** The oldest warm stream still usable; stale ones on the way are closed. */
  private takeWarm(key: string): Stream | undefined {
    const list = this.warm.get(key) ?? []
    let taken: Stream | undefined
    while (taken === undefined && list.length > 0) {
      const { stream, at } = list.shift()!
      if (usable(stream) && Date.now() - at < this.maxIdleMs) taken = stream
      else stream.abort(new Error('stale warm stream'))
    }
    if (list.length === 0) this.warm.delete(key)
    return taken
  }

  /**
   * Streams are refilled once `used` is done: opening one beside the request would put a stream, a
   * protocol negotiation and its handler on both nodes onto the request's path. Done is when the
   * provider closes its end (right after its final frame), in a later turn than the one that answers
   * the client, rather than once the whole close handshake is over.
   */
  private refillAfter(peer: PeerId, used: Stream): void {
    if (used.status !== 'open') {
      this.refill(peer)
      return
    }
    const done = (): void => {
      used.removeEventListener('remoteCloseWrite', done)
      used.removeEventListener('close', done)
      setImmediate(() => this.refill(peer))
    }
    used.addEventListener('remoteCloseWrite', done)
    used.addEventListener('close', done)
  }

  /** Tops the provider's warm streams up to WARM_PER_PROVIDER, one negotiation at a time. */
  private refill(peer: PeerId): void {
    const key = peer.toString()
    if (this.closed || this.pending.has(key) || (this.warm.get(key)?.length ?? 0) >= WARM_PER_PROVIDER) return
    this.pending.add(key)
    let added = false
    openStreamTo(this.libp2p, peer, INFER_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
      .then((stream) => {
        const list = this.warm.get(key) ?? []
        if (this.closed || list.length >= WARM_PER_PROVIDER) {
          stream.abort(new Error('not needed'))
          return
        }
        list.push({ stream, at: Date.now() })
        this.warm.set(key, list)
        added = true
        stream.addEventListener('close', () => {
          const current = this.warm.get(key)
          const at = current?.findIndex((w) => w.stream === stream) ?? -1
          if (at >= 0) current!.splice(at, 1)
          if (current?.length === 0) this.warm.delete(key)
        })
      })
      .catch(() => {
        // the provider may be gone; the next request finds out by itself
      })
      .finally(() => {
        this.pending.delete(key)
        if (added) this.refill(peer)
      })
  }
}

function usable(stream: Stream): boolean {
  return stream.status === 'open' && stream.writeStatus === 'writable' && stream.remoteWriteStatus === 'writable'
}
