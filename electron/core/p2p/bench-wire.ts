import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { MeshworkError } from '../util/errors'
import type { AbortOptions } from '../util/startable'

/**
 * `/meshwork/bench/1.0.0` — link probe. The prober sends a 4-byte big-endian length L, then L bytes,
 * then closes its side; the handler sinks them and answers with 4 bytes: the count it received, or
 * a refusal code. The handler never sends more than those 4 bytes, so a probe cannot turn us into
 * a traffic source against anyone; what it may sink is bounded per probe, per peer and in total.
 */
export const BENCH_PROTOCOL = '/meshwork/bench/1.0.0'

export const REFUSED_TOO_LARGE = 0xffffffff
export const REFUSED_BUSY = 0xfffffffe
export const CHUNK = 64 * 1024
/** After a refusal the prober may still have this much in flight. */
export const REFUSAL_ALLOWANCE = 256 * 1024
export const REFUSAL_GRACE_MS = 2_000

export class BenchRefusedError extends MeshworkError {
  constructor(reason: 'too_large' | 'busy' | 'short') {
    super(`The peer refused the link probe (${reason})`, `bench_${reason}`, 429)
    this.name = 'BenchRefusedError'
  }
}

/** The part of a libp2p node this protocol uses. */
export interface BenchLibp2p {
  handle(
    protocol: string,
    handler: (stream: Stream, connection: Connection) => void | Promise<void>,
    options?: { maxInboundStreams?: number; maxOutboundStreams?: number; runOnLimitedConnection?: boolean }
  ): Promise<void>
  unhandle(protocol: string): Promise<void>
  dialProtocol(
    peer: PeerId,
    protocol: string,
    options?: AbortOptions & { runOnLimitedConnection?: boolean }
  ): Promise<Stream>
  /** When given, a peer reached only through a relay is probed over that relayed connection. */
  getConnections?(peer?: PeerId): Connection[]
  services: { ping?: { ping(peer: PeerId, options?: AbortOptions): Promise<number> } }
}

export function u32(n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n)
  return out
}

export function readU32(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0)
}

export async function send(stream: Stream, data: Uint8Array, options: AbortOptions): Promise<void> {
  if (!stream.send(data)) await stream.onDrain(options)
}
