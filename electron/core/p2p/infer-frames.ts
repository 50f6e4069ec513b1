import type { z } from 'zod'
import { FrameTooLargeError, MeshworkError } from '../util/errors'

/** Unsigned varint length prefix + UTF-8 JSON body. */
const MAX_VARINT_BYTES = 5

export class BadFrameError extends MeshworkError {
  constructor(message: string) {
    super(message, 'bad_frame', 400)
    this.name = 'BadFrameError'
  }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeFrame(frame: unknown): Uint8Array {
  const body = encoder.encode(JSON.stringify(frame))
  const prefix: number[] = []
  let n = body.byteLength
  while (n >= 0x80) {
    prefix.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  prefix.push(n)
  const out = new Uint8Array(prefix.length + body.byteLength)
  out.set(prefix, 0)
  out.set(body, prefix.length)
  return out
}

/**
 * Incremental decoder: push bytes as they arrive, get whole validated frames back.
 * The length is checked against the limit as soon as the prefix is complete, before any
 * buffer for the body exists, so a frame claiming 2 GB costs nothing.
 */
export class FrameDecoder<T> {
  private chunks: Uint8Array[] = []
  private buffered = 0
  private expected: number | undefined

  constructor(
    private readonly schema: z.ZodType<T>,
    private readonly maxBytes: number
  ) {}

  /** Returns the frames completed by `bytes`; throws BadFrameError / FrameTooLargeError. */
  push(bytes: Uint8Array): T[] {
    if (bytes.byteLength > 0) {
      this.chunks.push(bytes)
      this.buffered += bytes.byteLength
    }
    const frames: T[] = []
    for (;;) {
      if (this.expected === undefined) {
        const header = this.readVarint()
        if (header === undefined) break
        this.expected = header
      }
      if (this.buffered < this.expected) break
      const body = this.take(this.expected)
      this.expected = undefined
      frames.push(this.parse(body))
    }
    return frames
  }

  /** True while part of a frame is buffered (a stream that ends now ended mid-frame). */
  get partial(): boolean {
    return this.buffered > 0 || this.expected !== undefined
  }

  private readVarint(): number | undefined {
    let value = 0
    let i = 0
    for (const chunk of this.chunks) {
      for (const byte of chunk) {
        value += (byte & 0x7f) * 2 ** (7 * i)
        i++
        if ((byte & 0x80) === 0) {
          if (value > this.maxBytes) throw new FrameTooLargeError(value, this.maxBytes)
          this.take(i)
          return value
        }
        if (i >= MAX_VARINT_BYTES) throw new BadFrameError('frame length prefix is too long')
      }
    }
    return undefined
  }

  private take(n: number): Uint8Array {
    const out = new Uint8Array(n)
    let offset = 0
    while (offset < n) {
      const head = this.chunks[0]
      const want = n - offset
      if (head.byteLength <= want) {
        out.set(head, offset)
        offset += head.byteLength
        this.chunks.shift()
      } else {
        out.set(head.subarray(0, want), offset)
        this.chunks[0] = head.subarray(want)
        offset += want
      }
    }
    this.buffered -= n
    return out
  }

  private parse(body: Uint8Array): T {
    let json: unknown
    try {
      json = JSON.parse(decoder.decode(body))
    } catch (err) {
      throw new BadFrameError(`frame is not valid UTF-8 JSON: ${(err as Error).message}`)
    }
    const parsed = this.schema.safeParse(json)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      throw new BadFrameError(`invalid frame: ${issue.path.join('.') || 'frame'}: ${issue.message}`)
    }
    return parsed.data
  }
}
