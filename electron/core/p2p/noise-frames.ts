import { noise, type NoiseExtensions, type NoiseInit } from '@chainsafe/libp2p-noise'
import type { ConnectionEncrypter, SecuredConnection } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'

/** What noise itself allows buffered while a frame is incomplete. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024

/**
 * Splits noise's transport stream into frames (2-byte big-endian length, then the sealed frame).
 * Noise's own splitter asks its length decoder for the next prefix until that throws a RangeError,
 * so every chunk that arrives ends in a thrown error and a stack trace: a per-chunk cost that showed
 * as the largest single item in profiles of a streaming provider. This one checks the length first.
 */
export class NoiseFrameSplitter {
  private readonly buffer = new Uint8ArrayList()

  /** The whole frames `chunk` completes (possibly none). */
  decode(chunk: Uint8Array | Uint8ArrayList): Uint8ArrayList[] {
    this.buffer.append(chunk)
    if (this.buffer.byteLength > MAX_BUFFERED_BYTES)
      throw new RangeError(`noise frame buffer over ${MAX_BUFFERED_BYTES} bytes`)
    const frames: Uint8ArrayList[] = []
    while (this.buffer.byteLength >= 2) {
      const end = 2 + this.buffer.getUint16(0)
      if (this.buffer.byteLength < end) break
      const frame = this.buffer.sublist(2, end)
      this.buffer.consume(end)
      if (frame.byteLength > 0) frames.push(frame)
    }
    return frames
  }
}

type Decoding = { decoder?: unknown }

/** Swaps in the splitter above when noise's stream has its own and nothing is buffered in it yet. */
function withSplitter<T extends SecuredConnection<NoiseExtensions>>(secured: T): T {
  const stream = secured.connection as unknown as Decoding
  const current = stream.decoder as { decode?: unknown; buffer?: { byteLength?: number } } | undefined
  if (typeof current?.decode === 'function' && (current.buffer?.byteLength ?? 0) === 0)
    stream.decoder = new NoiseFrameSplitter()
  return secured
}

/** libp2p's noise, with its transport frames split without a thrown error per received chunk. */
export function meshNoise(init?: NoiseInit): (components: any) => ConnectionEncrypter<NoiseExtensions> {
  const factory = noise(init)
  return (components) => {
    const encrypter = factory(components)
    const secureInbound = encrypter.secureInbound.bind(encrypter)
    const secureOutbound = encrypter.secureOutbound.bind(encrypter)
    encrypter.secureInbound = async (connection, options) => withSplitter(await secureInbound(connection, options))
    encrypter.secureOutbound = async (connection, options) => withSplitter(await secureOutbound(connection, options))
    return encrypter
  }
}
