import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import type {
  DeltaFrame,
  ErrorFrame,
  ReceiptFrame,
  ReceivedFinal,
  RequestFrame,
  ResponseFrame
} from '../../../shared/infer'
import {
  INFER_PROTOCOL,
  MAX_RESPONSE_FRAME_BYTES,
  RECEIPT_FRAME_WAIT_MS,
  ResponseFrameSchema
} from '../../../shared/infer'
import type { SignedReceipt } from '../../../shared/receipt'
import { InferError, toInferError } from '../../../shared/infer-error'
import type { AbortOptions } from '../util/startable'
import { coalesceWaiting, joinable } from './infer-coalesce'
import { FrameReader } from './infer-reader'
import { sendFrame } from './infer-send'

export interface OpenInferOptions extends AbortOptions {
  connectTimeoutMs?: number
  /** How long the stream waits for the receipt frame after the final (default RECEIPT_FRAME_WAIT_MS). */
  receiptWaitMs?: number
}

/**
 * Consumer side of `/meshwork/infer/1.0.0`: sends `request` to `peer` and yields its accept, delta
 * and final frames. An error frame, a reset or a stream that ends before the final frame throws an
 * InferError; aborting `signal` (or leaving the loop early) resets the stream, which aborts the
 * provider's job. With `receiptAfterFinal`, the stream stays open after the final frame until the
 * receipt frame comes (bounded): the final's `receiptLater` resolves to it, or to undefined.
 */
export async function* openInfer(
  libp2p: Pick<Libp2p, 'dialProtocol'>,
  peer: PeerId,
  request: RequestFrame,
  options: OpenInferOptions = {}
): AsyncGenerator<Exclude<ResponseFrame, ErrorFrame | ReceiptFrame> | ReceivedFinal> {
  const stream = await dial(libp2p, peer, options)
  const reader = new FrameReader(stream, ResponseFrameSchema, MAX_RESPONSE_FRAME_BYTES)
  let finished = false
  let receiptLater: Promise<SignedReceipt | undefined> | undefined
  try {
    await sendFrame(stream, request, options).catch((err) => {
      throw new InferError('provider_stream_broken', `sending the request failed: ${(err as Error).message}`, 502, {
        cause: err
      })
    })
    for (;;) {
      let frame: ResponseFrame | undefined
      try {
        frame = await reader.next(options)
      } catch (err) {
        if (options.signal?.aborted) throw options.signal.reason
        throw toInferError(err)
      }
      if (frame === undefined)
        throw new InferError('provider_stream_ended', 'the provider closed the stream before the final frame')
      if (frame.type === 'error') throw new InferError(frame.code, `provider: ${frame.message}`, frame.status ?? 502)
      if (frame.type === 'receipt')
        throw new InferError('bad_frame', 'the provider sent a receipt before its final frame')
      if (frame.type === 'final') {
        finished = true
        if (request.receiptAfterFinal === true && frame.receipt === undefined) {
          receiptLater = trailingReceipt(reader, options.receiptWaitMs ?? RECEIPT_FRAME_WAIT_MS)
          yield { ...frame, receiptLater }
          return
        }
      }
      // deltas that arrived together go on as one: one pass through the router, one write to the client
      if (frame.type === 'delta') frame = coalesceWaiting(frame, (into) => waitingDelta(reader, into))
      yield frame
      if (finished) return
    }
  } finally {
    const end = (): void => {
      reader.dispose()
      if (finished) stream.close().catch(() => stream.abort(new Error('close failed')))
      else stream.abort(new Error('consumer cancelled'))
    }
    if (receiptLater === undefined) end()
    else void receiptLater.finally(end)
  }
}

/** The one frame a provider may send after its final: a receipt, else nothing is taken. */
async function trailingReceipt(reader: FrameReader<ResponseFrame>, waitMs: number): Promise<SignedReceipt | undefined> {
  try {
    const frame = await reader.next({ signal: AbortSignal.timeout(waitMs) })
    return frame?.type === 'receipt' ? frame.receipt : undefined
  } catch {
    return undefined
  }
}

function waitingDelta(reader: FrameReader<ResponseFrame>, into: DeltaFrame): DeltaFrame | undefined {
  const next = reader.takeWaiting((frame) => frame.type === 'delta' && joinable(into, frame))
  return next as DeltaFrame | undefined
}

async function dial(libp2p: Pick<Libp2p, 'dialProtocol'>, peer: PeerId, options: OpenInferOptions): Promise<Stream> {
  const connectSignal = AbortSignal.timeout(options.connectTimeoutMs ?? 5000)
  try {
    return await libp2p.dialProtocol(peer, INFER_PROTOCOL, {
      signal: options.signal ? AbortSignal.any([options.signal, connectSignal]) : connectSignal,
      // send the protocol name together with the request: saves a round trip per request
      negotiateFully: false,
      // a relayed provider: the router sends only jobs that fit the relay's limits
      runOnLimitedConnection: true
    })
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason
    throw new InferError('provider_unreachable', `cannot open an infer stream: ${(err as Error).message}`, 503, {
      cause: err
    })
  }
}
