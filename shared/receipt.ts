import { z } from 'zod'
import { MODEL_NAME } from './models'
import { ModelPriceSchema } from './price'

/**
 * A job's receipt: what a provider delivered to a consumer and what it cost. Usually
 * issued and signed by the provider in its final frame and countersigned by the consumer; for a job
 * cut short (failover, a provider that died) the consumer issues it for the tokens it received and
 * the provider countersigns. Each side keeps both signatures in its ledger.
 */
export const RECEIPT_PROTOCOL = '/meshwork/receipt/1.0.0'

/** Largest receipt message either side reads. */
export const MAX_RECEIPT_BYTES = 8 * 1024

/** Prefix of the signed bytes: a receipt signature can never pass for any other signed message. */
export const RECEIPT_SIGNING_DOMAIN = 'meshwork-receipt/1\n'

const MAX_TOKENS = 1 << 24
const PeerId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[1-9A-HJ-NP-Za-km-z]+$/, 'must be a base58 peer id')
const Time = z.number().int().nonnegative().max(8.64e15)
export const SignatureSchema = z.string().regex(/^[0-9a-f]{128}$/, 'must be a hex Ed25519 signature')

export const ReceiptSchema = z.strictObject({
  v: z.literal(1),
  /** Unique per receipt, chosen by its issuer (a job id is chosen by the consumer alone). */
  id: z.string().regex(/^[0-9a-f]{32}$/),
  /** The consumer's request id (one request may have several receipts after failover). */
  jobId: z.string().min(1).max(128),
  issuer: z.enum(['provider', 'consumer']),
  provider: PeerId,
  consumer: PeerId,
  model: z.string().regex(MODEL_NAME),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  promptTokens: z.number().int().nonnegative().max(MAX_TOKENS),
  /** Completion tokens actually delivered to the consumer. */
  completionTokens: z.number().int().nonnegative().max(MAX_TOKENS),
  /** false when the job was cut short before its final frame. */
  complete: z.boolean(),
  durationMs: z.number().nonnegative().max(8.64e7),
  /** Credits per million tokens, as the provider advertised them. */
  price: ModelPriceSchema,
  unit: z.string().min(1).max(16),
  /** The amount due, in nano-credits (1e-9 credit): whole numbers so every sum is exact. */
  amountNano: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  startedAt: Time,
  endedAt: Time
})
export type Receipt = z.infer<typeof ReceiptSchema>

export const SignedReceiptSchema = z.strictObject({
  receipt: ReceiptSchema,
  providerSig: SignatureSchema.optional(),
  consumerSig: SignatureSchema.optional()
})
export type SignedReceipt = z.infer<typeof SignedReceiptSchema>

/** Messages of `/meshwork/receipt/1.0.0`: the consumer offers a receipt, the provider answers. */
export const ReceiptOfferSchema = z.strictObject({ type: z.literal('offer'), signed: SignedReceiptSchema })
export const ReceiptAnswerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('countersigned'), providerSig: SignatureSchema }),
  z.strictObject({ type: z.literal('refused'), code: z.string().max(64), message: z.string().max(512) })
])
export type ReceiptAnswer = z.infer<typeof ReceiptAnswerSchema>

/**
 * Countersignatures of finished jobs go to their provider in batches of at most this many, one stream
 * for the batch: a stream of its own cost both nodes more than the receipt did.
 */
export const MAX_OFFERS_PER_MESSAGE = 32
export const ReceiptOffersSchema = z.strictObject({
  type: z.literal('offers'),
  signed: z.array(SignedReceiptSchema).min(1).max(MAX_OFFERS_PER_MESSAGE)
})
/** What a consumer may send: one offer, or a batch (answered in the same order). */
export const ReceiptMessageSchema = z.discriminatedUnion('type', [ReceiptOfferSchema, ReceiptOffersSchema])
export const ReceiptAnswersSchema = z.strictObject({
  type: z.literal('answers'),
  answers: z.array(ReceiptAnswerSchema).max(MAX_OFFERS_PER_MESSAGE)
})

/** A job a provider served for a consumer, as its half of the infer protocol saw it. */
export interface ServedJob {
  jobId: string
  consumer: string
  model: string
  sha256: string
  /** Prompt tokens the runtime evaluated. */
  promptTokens: number
  /** Completion tokens sent to the consumer. */
  completionTokens: number
  /** Wall clock, ms since the epoch. */
  startedAt: number
  endedAt: number
}

/** What the provider half of the infer protocol asks of the earnings (kept free of the core). */
export interface JobAccounting {
  /** A job finished: sign and record its receipt, which goes into the final frame or the frame after it. */
  settle(job: ServedJob): SignedReceipt | undefined
  /** A job ended without its final frame: its consumer may send a receipt for what arrived. */
  cutShort(job: ServedJob): void
}

/** JSON with keys sorted at every level: the same value always gives the same bytes. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('cannot encode a non-finite number')
    return JSON.stringify(value)
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  // one string built in place: a job's receipt is encoded several times on each side of it
  const record = value as Record<string, unknown>
  let out = ''
  for (const key of Object.keys(record).sort()) {
    const v = record[key]
    if (v === undefined) continue
    out += `${out === '' ? '' : ','}${JSON.stringify(key)}:${canonicalJson(v)}`
  }
  return `{${out}}`
}

/** The exact bytes both parties sign. */
export function receiptSigningBytes(receipt: Receipt): Uint8Array {
  return new TextEncoder().encode(RECEIPT_SIGNING_DOMAIN + canonicalJson(receipt))
}

const HEX_BYTES = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'))

export function toHex(bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) out += HEX_BYTES[b]
  return out
}

export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}
