import { z } from 'zod'
import { InferErrorCodeSchema } from './infer-error'
import { ChatCompletionRequestSchema, CompletionRequestSchema, WorkerExtras } from './openai'
import { type SignedReceipt, SignedReceiptSchema } from './receipt'

/**
 * `/meshwork/infer/1.0.0`: one request frame, then delta frames, then one final or error frame (and,
 * when the request asked for it, one receipt frame after the final).
 */
export const INFER_PROTOCOL = '/meshwork/infer/1.0.0'

/** Largest frame a provider reads (a request carries the whole prompt). */
export const MAX_REQUEST_FRAME_BYTES = 8 * 1024 * 1024
/** Largest frame a consumer reads (the first delta may carry the prompt's token ids). */
export const MAX_RESPONSE_FRAME_BYTES = 4 * 1024 * 1024

const Id = z.string().min(1).max(128)
const Token = z.number().int().min(0).max(0x7fffffff)
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/)

export const InferBodySchema = z.discriminatedUnion('api', [
  z.object({ api: z.literal('chat'), body: ChatCompletionRequestSchema.extend(WorkerExtras) }),
  z.object({ api: z.literal('completions'), body: CompletionRequestSchema.extend(WorkerExtras) })
])
export type InferBody = z.infer<typeof InferBodySchema>

export const RequestFrameSchema = z.object({
  type: z.literal('request'),
  id: Id,
  /** When set, the provider refuses unless it serves exactly this GGUF (token-exact continuation). */
  sha256: Sha256.optional(),
  /** The consumer understands `queued` frames (a provider without a free slot sends them). */
  queueNotices: z.boolean().optional(),
  /** The consumer reads the receipt from a frame of its own after the final frame (see ReceiptFrame). */
  receiptAfterFinal: z.boolean().optional(),
  call: InferBodySchema
})
export type RequestFrame = z.infer<typeof RequestFrameSchema>

export const DeltaFrameSchema = z.object({
  type: z.literal('delta'),
  text: z.string().max(1024 * 1024),
  tokenIds: z.array(Token).max(65536).optional(),
  /** First delta only: the (templated) prompt as the model saw it. */
  promptTokenIds: z
    .array(Token)
    .max(1 << 20)
    .optional(),
  approximate: z.boolean().optional(),
  /** First delta only: text stop strings the runtime added itself (chat template end-of-turn). */
  stop: z.array(z.string().min(1).max(256)).max(16).optional()
})
export type DeltaFrame = z.infer<typeof DeltaFrameSchema>

export const UsageSchema = z.object({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative().optional()
})

export const TimingsSchema = z.object({
  prompt_n: z.number().nonnegative().optional(),
  prompt_ms: z.number().nonnegative().optional(),
  predicted_n: z.number().nonnegative().optional(),
  predicted_ms: z.number().nonnegative().optional()
})
export type Timings = z.infer<typeof TimingsSchema>

export const FinalFrameSchema = z.object({
  type: z.literal('final'),
  finishReason: z.string().max(32).nullable(),
  usage: UsageSchema.optional(),
  timings: TimingsSchema.optional(),
  /** The provider's model sha256 (lets the consumer check who may continue the stream). */
  sha256: Sha256.optional(),
  /** Time the provider spent on the job, request read to final frame (ms): the rest is network. */
  providerMs: z.number().nonnegative().optional(),
  /** The provider's signed receipt for the job (see shared/receipt.ts); the consumer countersigns it. */
  receipt: SignedReceiptSchema.optional()
})
export type FinalFrame = z.infer<typeof FinalFrameSchema>

export const ErrorFrameSchema = z.object({
  type: z.literal('error'),
  code: InferErrorCodeSchema,
  message: z.string().max(2048),
  /** A client error (bad request) is not retried elsewhere; anything else is. */
  status: z.number().int().min(100).max(599).optional()
})
export type ErrorFrame = z.infer<typeof ErrorFrameSchema>

/** Sent by the provider first, so the consumer knows the model identity before any token. */
export const AcceptFrameSchema = z.object({
  type: z.literal('accept'),
  sha256: Sha256.optional(),
  supportsTokenContinuation: z.boolean()
})
export type AcceptFrame = z.infer<typeof AcceptFrameSchema>

/** How often a provider says `queued` while a job waits for one of its slots. */
export const QUEUE_NOTICE_MS = 5_000

/**
 * Sent before the accept, only to a consumer whose request set `queueNotices`: the job waits in
 * the provider's line, now and again every QUEUE_NOTICE_MS until it starts. A busy provider is
 * alive, so the consumer's first-token clock starts again at each notice (within its own bound).
 */
export const QueuedFrameSchema = z.object({ type: z.literal('queued') })
export type QueuedFrame = z.infer<typeof QueuedFrameSchema>

/**
 * The receipt of a finished job, after its final frame, to a consumer whose request set
 * `receiptAfterFinal`: the answer leaves first, and the provider signs and records the receipt
 * while the consumer already passes the answer on. Only a receipt recorded by the provider is sent.
 */
export const ReceiptFrameSchema = z.object({ type: z.literal('receipt'), receipt: SignedReceiptSchema })
export type ReceiptFrame = z.infer<typeof ReceiptFrameSchema>

/** How long a consumer waits for the receipt frame after the final frame, reading nothing else. */
export const RECEIPT_FRAME_WAIT_MS = 10_000

/** A final frame as the consumer hands it on: a receipt that follows it arrives in `receiptLater`. */
export type ReceivedFinal = FinalFrame & { receiptLater?: Promise<SignedReceipt | undefined> }

export const ResponseFrameSchema = z.discriminatedUnion('type', [
  QueuedFrameSchema,
  AcceptFrameSchema,
  DeltaFrameSchema,
  FinalFrameSchema,
  ErrorFrameSchema,
  ReceiptFrameSchema
])
export type ResponseFrame = z.infer<typeof ResponseFrameSchema>
