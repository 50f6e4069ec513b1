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

/**
 * Opens infer streams, keeping one already negotiated stream per recently used provider. Protocol
 * negotiation costs a round trip plus libp2p's deferred delivery (a few ms on loopback); a warm
 * stream takes it off the request path, which is most of the mesh's added latency.
 */
export class InferDialer implements Pick<Libp2p, 'dialProtocol'> {
  private readonly warm = new Map<string, Warm>()
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
    const key = peer.toString()
    if (protocols === INFER_PROTOCOL) {
      const warm = this.warm.get(key)
      this.warm.delete(key)
      if (warm && usable(warm.stream) && Date.now() - warm.at < this.maxIdleMs) {
        this.refillAfter(peer, warm.stream)
        return warm.stream
      }
      if (warm) warm.stream.abort(new Error('stale warm stream'))
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
    for (const { stream } of this.warm.values()) stream.abort(new Error('dialer closed'))
    this.warm.clear()
  }

  /**
   * The next warm stream is opened once `used` is done: opening it beside the request would put a
   * stream, a protocol negotiation and its handler on both nodes onto the request's path. Done is
   * when the provider closes its end (right after its final frame), in a later turn than the one
   * that answers the client; waiting for the whole close handshake left the refill so late that a
   * client's next request often found no warm stream and negotiated its own.
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

  private refill(peer: PeerId): void {
    const key = peer.toString()
    if (this.closed || this.pending.has(key) || this.warm.has(key)) return
    this.pending.add(key)
    openStreamTo(this.libp2p, peer, INFER_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
      .then((stream) => {
        if (this.closed || this.warm.has(key)) {
          stream.abort(new Error('not needed'))
          return
        }
        this.warm.set(key, { stream, at: Date.now() })
        stream.addEventListener('close', () => {
          if (this.warm.get(key)?.stream === stream) this.warm.delete(key)
        })
      })
      .catch(() => {
        // the provider may be gone; the next request finds out by itself
      })
      .finally(() => this.pending.delete(key))
  }
}

function usable(stream: Stream): boolean {
  return stream.status === 'open' && stream.writeStatus === 'writable' && stream.remoteWriteStatus === 'writable'
}
