import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import {
  MAX_RECEIPT_BYTES,
  RECEIPT_PROTOCOL,
  type ReceiptAnswer,
  ReceiptAnswerSchema,
  ReceiptOfferSchema,
  type SignedReceipt
} from '../../../shared/receipt'
import type { Logger } from '../util/logger'
import type { AbortOptions } from '../util/startable'
import { openStreamTo } from '../p2p/reachability-connection'
import { ReceiptRejectedError } from './receipts'

const TIMEOUT_MS = 5_000

/** Answers an offered receipt; `from` is the authenticated peer on the other end of the stream. */
export type OfferHandler = (signed: SignedReceipt, from: string) => ReceiptAnswer

function parse<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
  bytes: Uint8Array
): T {
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    throw new ReceiptRejectedError('the message is not UTF-8 JSON')
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) throw new ReceiptRejectedError('the message does not have the expected shape')
  return parsed.data
}

const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

/**
 * `/meshwork/receipt/1.0.0`: a consumer sends one offer (its countersignature of a provider's
 * receipt, or a receipt it issued for a job cut short); the provider answers with its signature or
 * a refusal, then both close. One message each way, size-limited, bounded in time.
 */
export async function handleReceiptProtocol(
  libp2p: Pick<Libp2p, 'handle'>,
  onOffer: OfferHandler,
  logger: Logger
): Promise<void> {
  await libp2p.handle(
    RECEIPT_PROTOCOL,
    async (stream: Stream, connection: Connection) => {
      const signal = AbortSignal.timeout(TIMEOUT_MS)
      const lp = lpStream(stream, { maxDataLength: MAX_RECEIPT_BYTES })
      try {
        let answer: ReceiptAnswer
        try {
          const offer = parse(ReceiptOfferSchema, (await lp.read({ signal })).subarray())
          answer = onOffer(offer.signed, connection.remotePeer.toString())
        } catch (err) {
          if (!(err instanceof ReceiptRejectedError)) throw err
          answer = { type: 'refused', code: err.code, message: err.message.slice(0, 512) }
        }
        await lp.write(encode(answer), { signal })
        await stream.close({ signal })
      } catch (err) {
        logger.debug('receipt exchange failed', { err })
        stream.abort(err as Error)
      }
    },
    { maxInboundStreams: 32, runOnLimitedConnection: true }
  )
}

/** Offers `signed` to its provider and returns the answer. */
export async function offerReceipt(
  libp2p: Pick<Libp2p, 'dialProtocol' | 'getConnections'>,
  provider: PeerId,
  signed: SignedReceipt,
  options: AbortOptions = {}
): Promise<ReceiptAnswer> {
  const signal = options.signal ?? AbortSignal.timeout(TIMEOUT_MS)
  // over the relayed connection the job ran on, when that is how the provider is reached; the
  // protocol name goes with the offer (no round trip of its own)
  const stream = await openStreamTo(libp2p, provider, RECEIPT_PROTOCOL, {
    signal,
    negotiateFully: false
  } as AbortOptions)
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_RECEIPT_BYTES })
    await lp.write(encode({ type: 'offer', signed }), { signal })
    const answer = parse(ReceiptAnswerSchema, (await lp.read({ signal })).subarray())
    await stream.close({ signal }).catch(() => {})
    return answer
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}
