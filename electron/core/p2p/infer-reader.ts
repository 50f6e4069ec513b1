import type { Stream } from '@libp2p/interface'
import type { z } from 'zod'
import { FrameDecoder } from './infer-frames'
import type { ByteBudget } from './provider-limits'

/** Frames buffered before the stream is paused (backpressure towards the sender). */
const HIGH_WATER = 256
const LOW_WATER = 32

/**
 * Reads validated frames from a libp2p stream, one at a time. A broken stream, a reset or a
 * frame that does not decode makes `next()` throw at once; a clean end returns undefined.
 */
export class FrameReader<T> {
  private readonly decoder: FrameDecoder<T>
  private readonly queue: T[] = []
  private ended = false
  private failure: Error | undefined
  private wake: (() => void) | undefined
  private paused = false
  /** Bytes of this stream held against the shared budget (returned when done). */
  private held = 0

  constructor(
    private readonly stream: Stream,
    schema: z.ZodType<T>,
    maxBytes: number,
    private readonly budget?: ByteBudget
  ) {
    this.decoder = new FrameDecoder(schema, maxBytes)
    stream.addEventListener('message', this.onMessage)
    stream.addEventListener('close', this.onClose)
    stream.addEventListener('remoteCloseWrite', this.onEnd)
    if (stream.status !== 'open') this.onEnd()
  }

  /** The next frame when it is already decoded and `accept` takes it; never waits. */
  takeWaiting(accept: (frame: T) => boolean): T | undefined {
    const frame = this.queue[0]
    if (frame === undefined || !accept(frame)) return undefined
    this.queue.shift()
    if (this.paused && this.queue.length <= LOW_WATER) {
      this.paused = false
      this.stream.resume()
    }
    return frame
  }

  async next(options: { signal?: AbortSignal } = {}): Promise<T | undefined> {
    for (;;) {
      const frame = this.takeWaiting(() => true)
      if (frame !== undefined) return frame
      if (this.failure) throw this.failure
      if (this.ended) {
        if (this.decoder.partial) throw new Error('stream ended in the middle of a frame')
        return undefined
      }
      options.signal?.throwIfAborted()
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => reject(options.signal?.reason)
        options.signal?.addEventListener('abort', onAbort, { once: true })
        this.wake = () => {
          options.signal?.removeEventListener('abort', onAbort)
          resolve()
        }
      })
    }
  }

  dispose(): void {
    this.budget?.give(this.held)
    this.held = 0
    this.stream.removeEventListener('message', this.onMessage)
    this.stream.removeEventListener('close', this.onClose)
    this.stream.removeEventListener('remoteCloseWrite', this.onEnd)
  }

  private readonly onMessage = (evt: { data: Uint8Array | { subarray(): Uint8Array } }): void => {
    if (this.failure) return
    try {
      const bytes = evt.data instanceof Uint8Array ? evt.data : evt.data.subarray()
      if (this.budget !== undefined) {
        if (!this.budget.take(bytes.byteLength))
          throw new Error('the provider is buffering too many request bytes; try again')
        this.held += bytes.byteLength
      }
      for (const frame of this.decoder.push(bytes)) this.queue.push(frame)
      if (!this.paused && this.queue.length >= HIGH_WATER) {
        this.paused = true
        this.stream.pause()
      }
    } catch (err) {
      this.failure = err as Error
    }
    this.notify()
  }

  private readonly onClose = (evt: { error?: Error }): void => {
    if (evt.error && !this.failure) this.failure = evt.error
    this.ended = true
    this.notify()
  }

  private readonly onEnd = (): void => {
    this.ended = true
    this.notify()
  }

  private notify(): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }
}
