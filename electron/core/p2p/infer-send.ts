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
