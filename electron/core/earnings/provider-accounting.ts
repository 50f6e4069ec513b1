import type { ModelPrice } from '../../../shared/price'
import {
  type ReceiptAnswer,
  type ServedJob,
  type SignedReceipt,
  canonicalJson,
  receiptSigningBytes
} from '../../../shared/receipt'
import type { Logger } from '../util/logger'
import type { DeferredWrites } from './deferred-writes'
import { type Signer, verifiedBy } from './keys'
import type { Ledger } from './ledger'
import { ReceiptRejectedError, addSignature, checkReceipt, issueReceipt } from './receipts'

/** Refusal code for an offer about a job not (yet) known here: the consumer may try again shortly. */
export const JOB_UNKNOWN = 'receipt_job_unknown'

/** How long a job cut short waits for its consumer's receipt. */
const CUT_SHORT_TTL_MS = 10 * 60_000
const MAX_CUT_SHORT = 10_000

interface Pending extends ServedJob {
  price: ModelPrice
}

/**
 * The provider's side of the books. A finished job: sign a receipt, record it as earned and send
 * it in or after the final frame. A job cut short: no final frame went out, so wait for the
 * consumer's receipt for the tokens it received, and countersign it if it fits what was sent.
 */
export class ProviderAccounting {
  private readonly pending = new Map<string, Pending>()

  constructor(
    private readonly ledger: Ledger,
    private readonly signer: Signer,
    private readonly priceOf: (model: string) => ModelPrice,
    private readonly unit: () => string,
    private readonly logger: Logger,
    /** Where ledger writes wait until the job's last frame is out (else they run at once). */
    private readonly writes?: DeferredWrites
  ) {}

  /**
   * Signs and records the receipt of a finished job; the caller sends it in the final frame or in
   * the receipt frame after it. The write stays before the receipt leaves: a consumer must never
   * hold a receipt signed here that this ledger could lose (a kill -9 right after the frame).
   */
  settle(job: ServedJob): SignedReceipt {
    const signed = issueReceipt(this.signer, 'provider', {
      jobId: job.jobId,
      provider: this.signer.peerId,
      consumer: job.consumer,
      model: job.model,
      sha256: job.sha256,
      promptTokens: job.promptTokens,
      completionTokens: job.completionTokens,
      complete: true,
      durationMs: Math.max(0, job.endedAt - job.startedAt),
      price: this.priceOf(job.model),
      unit: this.unit(),
      startedAt: job.startedAt,
      endedAt: job.endedAt
    })
    this.ledger.append('receipt', 'earned', signed)
    return signed
  }

  /** A job that ended without a final frame: its consumer may still send a receipt for it. */
  cutShort(job: ServedJob): void {
    const now = Date.now()
    for (const [key, p] of this.pending) {
      if (p.endedAt > now - CUT_SHORT_TTL_MS && this.pending.size < MAX_CUT_SHORT) break
      this.pending.delete(key)
    }
    this.pending.set(keyOf(job.consumer, job.jobId), { ...job, price: this.priceOf(job.model) })
  }

  /** Answers a consumer's offer (see receipt-protocol.ts); throws ReceiptRejectedError to refuse. */
  onOffer(signed: SignedReceipt, from: string): ReceiptAnswer {
    const { receipt } = signed
    if (receipt.consumer !== from) throw new ReceiptRejectedError('offered by a peer that is not its consumer')
    if (receipt.provider !== this.signer.peerId) throw new ReceiptRejectedError('this node is not its provider')
    // one this node issued: what counts is that it is the stored one and that its consumer signed it
    if (receipt.issuer === 'provider') return this.countersigned(signed)
    const check = checkReceipt(signed)
    if (check.problems.length > 0) throw new ReceiptRejectedError(check.problems.join('; '))
    if (!check.consumerSigValid) throw new ReceiptRejectedError('the consumer has not signed it')
    const key = keyOf(from, receipt.jobId)
    const job = this.pending.get(key)
    if (job === undefined)
      throw new ReceiptRejectedError(
        `no job ${receipt.jobId} of this consumer was cut short here recently`,
        JOB_UNKNOWN
      )
    const misfit = [
      receipt.model !== job.model && 'another model',
      receipt.sha256 !== job.sha256 && 'another GGUF',
      (receipt.price.prompt !== job.price.prompt || receipt.price.completion !== job.price.completion) &&
        'another price',
      receipt.completionTokens > job.completionTokens &&
        `${receipt.completionTokens} completion tokens, ${job.completionTokens} were sent`,
      receipt.promptTokens > job.promptTokens && job.promptTokens > 0 && 'more prompt tokens than evaluated'
    ].filter(Boolean)
    if (misfit.length > 0) throw new ReceiptRejectedError(`it does not fit the job: ${misfit.join(', ')}`)
    const both = addSignature(this.signer, signed)
    this.ledger.append('receipt', 'earned', both)
    this.pending.delete(key)
    if (receipt.completionTokens < job.completionTokens) {
      this.logger.debug('consumer received fewer tokens than were sent', {
        job: receipt.jobId,
        sent: job.completionTokens,
        received: receipt.completionTokens
      })
    }
    return { type: 'countersigned', providerSig: both.providerSig as string }
  }

  /** The consumer's countersignature of a receipt this node issued. */
  private countersigned(signed: SignedReceipt): ReceiptAnswer {
    this.writes?.flush()
    const stored = this.ledger.latest(signed.receipt.id)
    if (stored === undefined || canonicalJson(stored.signed.receipt) !== canonicalJson(signed.receipt)) {
      throw new ReceiptRejectedError('this node issued no such receipt')
    }
    if (!verifiedBy(signed.receipt.consumer, receiptSigningBytes(stored.signed.receipt), signed.consumerSig))
      throw new ReceiptRejectedError('the consumer has not signed it')
    if (stored.signed.consumerSig === undefined)
      this.later(() =>
        this.ledger.append('countersign', 'earned', { ...stored.signed, consumerSig: signed.consumerSig })
      )
    return { type: 'countersigned', providerSig: stored.signed.providerSig as string }
  }

  private later(write: () => void): void {
    if (this.writes === undefined) write()
    else this.writes.add(write)
  }
}

const keyOf = (consumer: string, jobId: string): string => `${consumer}\n${jobId}`
