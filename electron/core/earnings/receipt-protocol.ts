import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import {
  MAX_OFFERS_PER_MESSAGE,
  MAX_RECEIPT_BYTES,
  RECEIPT_PROTOCOL,
  type ReceiptAnswer,
  ReceiptAnswerSchema,
  ReceiptAnswersSchema,
  ReceiptMessageSchema,
  type SignedReceipt
} from '../../../shared/receipt'
import type { Logger } from '../util/logger'
import type { AbortOptions } from '../util/startable'
import { openStreamTo } from '../p2p/reachability-connection'
import { ReceiptRejectedError } from './receipts'

const TIMEOUT_MS = 5_000
/** A batch of offers is one message: up to this many receipts. */
const MAX_MESSAGE_BYTES = MAX_RECEIPT_BYTES * MAX_OFFERS_PER_MESSAGE

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

const refusal = (err: ReceiptRejectedError): ReceiptAnswer => ({
  type: 'refused',
  code: err.code,
  message: err.message.slice(0, 512)
})

/**
 * `/meshwork/receipt/1.0.0`: a consumer sends one offer (its countersignature of a provider's
 * receipt, or a receipt it issued for a job cut short), or a batch of them; the provider answers each
 * with its signature or a refusal (a batch in one message, in the same order), then both close. One
 * message each way, size-limited, bounded in time.
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
      const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES })
      const from = connection.remotePeer.toString()
      const answer = (signed: SignedReceipt): ReceiptAnswer => {
        try {
          return onOffer(signed, from)
        } catch (err) {
          if (err instanceof ReceiptRejectedError) return refusal(err)
          throw err
        }
      }
      try {
        let reply: unknown
        try {
          const message = parse(ReceiptMessageSchema, (await lp.read({ signal })).subarray())
          reply =
            message.type === 'offer'
              ? answer(message.signed)
              : { type: 'answers', answers: await answerEach(message.signed, answer) }
        } catch (err) {
          if (!(err instanceof ReceiptRejectedError)) throw err
          reply = refusal(err)
        }
        await lp.write(encode(reply), { signal })
        await stream.close({ signal })
      } catch (err) {
        logger.debug('receipt exchange failed', { err })
        stream.abort(err as Error)
      }
    },
    { maxInboundStreams: 32, runOnLimitedConnection: true }
  )
}

/**
 * Answers a batch one offer per turn of the event loop: each checks two signatures and records one
 * entry, and a whole batch at once would stall every stream of the node for that long.
 */
async function answerEach(
  batch: SignedReceipt[],
  answer: (signed: SignedReceipt) => ReceiptAnswer
): Promise<ReceiptAnswer[]> {
  const answers: ReceiptAnswer[] = []
  for (const signed of batch) {
    answers.push(answer(signed))
    await new Promise((resolve) => setImmediate(resolve))
  }
  return answers
}

/** Offers `signed` to its provider and returns the answer. */
export async function offerReceipt(
  libp2p: Pick<Libp2p, 'dialProtocol' | 'getConnections'>,
  provider: PeerId,
  signed: SignedReceipt,
  options: AbortOptions = {}
): Promise<ReceiptAnswer> {
  return parse(ReceiptAnswerSchema, await exchange(libp2p, provider, { type: 'offer', signed }, options))
}

/** Offers a batch of receipts to their provider in one message; returns the answers in the same order. */
export async function offerReceipts(
  libp2p: Pick<Libp2p, 'dialProtocol' | 'getConnections'>,
  provider: PeerId,
  signed: SignedReceipt[],
  options: AbortOptions = {}
): Promise<ReceiptAnswer[]> {
  const reply = await exchange(libp2p, provider, { type: 'offers', signed }, options)
  const { answers } = parse(ReceiptAnswersSchema, reply)
  if (answers.length !== signed.length)
    throw new ReceiptRejectedError(`${answers.length} answers to ${signed.length} offers`)
  return answers
}

/** One message to the provider, one back. */
async function exchange(
  libp2p: Pick<Libp2p, 'dialProtocol' | 'getConnections'>,
  provider: PeerId,
  message: unknown,
  options: AbortOptions
): Promise<Uint8Array> {
  const signal = options.signal ?? AbortSignal.timeout(TIMEOUT_MS)
  // over the relayed connection the job ran on, when that is how the provider is reached; the
  // protocol name goes with the offer (no round trip of its own)
  const stream = await openStreamTo(libp2p, provider, RECEIPT_PROTOCOL, {
    signal,
    negotiateFully: false
  } as AbortOptions)
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES })
    await lp.write(encode(message), { signal })
    const reply = (await lp.read({ signal })).subarray()
    await stream.close({ signal }).catch(() => {})
    return reply
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}
