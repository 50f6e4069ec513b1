import type { Stream } from '@libp2p/interface'
import type { ErrorFrame, RequestFrame, ResponseFrame } from '../../../shared/infer'
import type { InferErrorCode } from '../../../shared/infer-error'
import type { AbortOptions } from '../util/startable'
import { encodeFrame } from './infer-frames'

/**
 * Writes one frame, waiting for the stream to drain when its buffer is full (backpressure); with
 * `drainTimeoutMs`, a reader that takes nothing for that long fails the write (TimeoutError).
 */
export async function sendFrame(
  stream: Stream,
  frame: ResponseFrame | RequestFrame,
  options: AbortOptions & { drainTimeoutMs?: number } = {}
): Promise<void> {
  if (stream.send(encodeFrame(frame))) return
  const timeout = options.drainTimeoutMs === undefined ? undefined : AbortSignal.timeout(options.drainTimeoutMs)
  const signal =
    timeout === undefined ? options.signal : options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
  await stream.onDrain({ signal })
}

/** Best effort: the error frame that ends a job, when the stream can still carry it. */
export async function sendErrorFrame(
  stream: Stream,
  code: InferErrorCode,
  message: string,
  status?: number
): Promise<void> {
  if (stream.status !== 'open' || stream.writeStatus !== 'writable') return
  const frame: ErrorFrame = { type: 'error', code, message: message.slice(0, 2048), status }
  await sendFrame(stream, frame, { signal: AbortSignal.timeout(2000) }).catch(() => {})
}

/**
 * A job's response frames, written so that the frames produced in one turn of the event loop leave
 * as one write: one muxer frame, one encryption, one syscall, one window update at the consumer
 * (the accept with the first delta, a last delta with the final frame). What is queued goes out as
 * soon as the code running now is done (process.nextTick); with `minGapMs`, no sooner than that after
 * the previous write, so a fast stream's deltas leave together (the final and receipt frames never wait).
 * A write waits only while the stream's buffer is full (backpressure), as `sendFrame` does.
 */
export class FrameBatch {
  private queued: Uint8Array[] = []
  private blocked = false
  private failure: Error | undefined
  private lastFlushAt = Number.NEGATIVE_INFINITY
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly stream: Stream,
    private readonly options: AbortOptions & { drainTimeoutMs?: number; minGapMs?: number } = {}
  ) {}

  async write(frame: ResponseFrame): Promise<void> {
    if (this.failure) throw this.failure
    this.queued.push(encodeFrame(frame))
    const last = frame.type === 'final' || frame.type === 'receipt'
    if (this.queued.length === 1 || last) this.schedule(last)
    if (!this.blocked) return
    const { signal, drainTimeoutMs } = this.options
    const timeout = drainTimeoutMs === undefined ? undefined : AbortSignal.timeout(drainTimeoutMs)
    await this.stream.onDrain({
      signal: timeout === undefined ? signal : signal ? AbortSignal.any([signal, timeout]) : timeout
    })
    this.blocked = false
  }

  /** The next flush: at the end of this turn, or (`minGapMs`) no sooner than that after the last one. */
  private schedule(final: boolean): void {
    const wait = final ? 0 : this.lastFlushAt + (this.options.minGapMs ?? 0) - performance.now()
    if (wait > 0) {
      this.timer ??= setTimeout(() => this.flush(), wait)
      return
    }
    clearTimeout(this.timer)
    this.timer = undefined
    process.nextTick(() => this.flush())
  }

  /** Sends what is queued now (before the stream is closed, or another frame is sent around the batch). */
  flush(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.queued.length === 0 || this.failure) return
    this.lastFlushAt = performance.now()
    const bytes = this.queued.length === 1 ? this.queued[0] : concat(this.queued)
    this.queued = []
    try {
      this.blocked = !this.stream.send(bytes)
    } catch (err) {
      this.failure = err as Error
    }
  }

  /** Sends what is queued; throws if a send failed (a final frame that did not go out). */
  end(): void {
    this.flush()
    if (this.failure) throw this.failure
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const part of parts) length += part.byteLength
  const out = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}
