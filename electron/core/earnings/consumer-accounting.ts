import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2p } from '@libp2p/interface'
import type { ModelPrice } from '../../../shared/price'
import { type ReceiptAnswer, receiptSigningBytes, type SignedReceipt } from '../../../shared/receipt'
import { sleep } from '../util/startable'
import type { Logger } from '../util/logger'
import type { DeferredWrites } from './deferred-writes'
import { type Signer, verifiedBy } from './keys'
import type { Ledger } from './ledger'
import { JOB_UNKNOWN } from './provider-accounting'
import { OfferBatches } from './offer-batches'
import { offerReceipt, offerReceipts } from './receipt-protocol'
import { addSignature, checkReceipt, disagreements, issueReceipt } from './receipts'

/** Pauses before each further try of a receipt offer. */
const OFFER_RETRY_MS = [1_000, 3_000]

/**
 * What the earnings need to know of one settled attempt: a structural subset of the router's
 * AttemptOutcome ('attempt:settled'), so earnings does not depend on the router.
 */
export interface SettledAttempt {
  requestId: string
  provider: string
  local: boolean
  model: string
  sha256?: string
  kind: string
  /** Tokens this provider delivered in this attempt, by the consumer's count. */
  tokens: number
  /** Prompt tokens this attempt sent (prompt, plus replayed ids in a continuation), when known. */
  promptTokens?: number
  ms: number
  final?: {
    usage?: { prompt_tokens: number; completion_tokens: number }
    receipt?: unknown
    /** A receipt that follows the final frame (see ReceiptFrame): recorded once it came or did not. */
    receiptLater?: Promise<unknown>
  }
}

export interface ConsumerAccountingInit {
  ledger: Ledger
  signer: Signer
  libp2p?: Pick<Libp2p, 'dialProtocol' | 'getConnections'>
  /** The price a provider advertises for a model right now (undefined: not known). */
  advertisedPrice(peerId: string, model: string): ModelPrice | undefined
  /** The sha256 a provider advertises for a model (for receipts of jobs cut short before accept). */
  advertisedSha256(peerId: string, model: string): string | undefined
  unit(): string
  logger: Logger
  /** Where the bookkeeping of an attempt waits until the client has its answer (else it runs at once). */
  writes?: DeferredWrites
}

/**
 * The consumer's side: countersign a provider's receipt that matches what arrived, else issue a
 * receipt for the tokens that did arrive (jobs cut short by failover or cancellation) and offer it
 * to the provider for its signature. Attempts served by this node's own runtime are "served for
 * you": recorded, neither earned nor spent.
 */
export class ConsumerAccounting {
  private readonly offers = new Set<Promise<void>>()
  /** Receipts still to come after their final frame (each bounded by RECEIPT_FRAME_WAIT_MS). */
  private readonly awaited = new Set<Promise<void>>()
  /** Countersignatures of finished jobs, sent to each provider in batches. */
  private readonly batches = new OfferBatches((provider, batch) => this.offerBatch(provider, batch))

  constructor(private readonly init: ConsumerAccountingInit) {}

  /**
   * Records one settled attempt. The router settles an attempt before the client's end of response:
   * the signatures and the ledger write run after it (see DeferredWrites), with the time it ended.
   */
  attemptSettled(attempt: SettledAttempt): void {
    const endedAt = Date.now()
    const { final } = attempt
    if (final?.receiptLater !== undefined && final.receipt === undefined) {
      const later = final.receiptLater
        .then((receipt) => this.queue({ ...attempt, final: { ...final, receipt } }, endedAt))
        .catch((err) => this.init.logger.warn('recording a job failed', { provider: attempt.provider, err }))
      this.awaited.add(later)
      void later.finally(() => this.awaited.delete(later))
    } else this.queue(attempt, endedAt)
  }

  private queue(attempt: SettledAttempt, endedAt: number): void {
    if (this.init.writes === undefined) this.record(attempt, endedAt)
    else this.init.writes.add(() => this.record(attempt, endedAt))
  }

  /** Waits for the bookkeeping queued and the receipt exchanges under way (bounded by their timeouts). */
  async settled(): Promise<void> {
    // receipts that follow their final frame first: recording one may start an exchange
    await Promise.all([...this.awaited])
    this.init.writes?.flush()
    this.batches.flush()
    await Promise.all([...this.offers])
  }

  private record(attempt: SettledAttempt, endedAt: number): void {
    const { ledger, signer } = this.init
    const startedAt = Math.round(endedAt - attempt.ms)
    const promptTokens = attempt.final?.usage?.prompt_tokens ?? attempt.promptTokens ?? 0
    if (attempt.tokens === 0 && attempt.final === undefined) return // nothing was delivered
    const sha256 = attempt.sha256 ?? this.init.advertisedSha256(attempt.provider, attempt.model)
    if (sha256 === undefined) return
    const base = {
      jobId: attempt.requestId,
      model: attempt.model,
      sha256,
      promptTokens,
      durationMs: attempt.ms,
      unit: this.init.unit(),
      startedAt,
      endedAt
    }
    if (attempt.local) {
      const own = issueReceipt(signer, 'provider', {
        ...base,
        provider: signer.peerId,
        consumer: signer.peerId,
        completionTokens: attempt.tokens,
        complete: attempt.final !== undefined,
        price: { prompt: 0, completion: 0 }
      })
      ledger.append('receipt', 'self', addSignature(signer, own))
      return
    }
    const price = this.init.advertisedPrice(attempt.provider, attempt.model)
    const offered = attempt.final?.receipt
    if (offered !== undefined) {
      const check = checkReceipt(offered)
      const signed = offered as SignedReceipt
      const problems =
        check.problems.length > 0
          ? check.problems
          : disagreements(signed.receipt, {
              jobId: attempt.requestId,
              provider: attempt.provider,
              consumer: signer.peerId,
              model: attempt.model,
              completionTokens: attempt.tokens > 0 ? attempt.tokens : undefined,
              promptTokens: attempt.promptTokens,
              price
            })
      if (problems.length === 0 && signed.receipt.issuer === 'provider' && check.providerSigValid) {
        const both = addSignature(signer, signed)
        ledger.append('receipt', 'spent', both)
        this.batches.add(both)
        return
      }
      this.init.logger.warn('provider receipt rejected; recording what arrived instead', {
        provider: attempt.provider,
        job: attempt.requestId,
        problems
      })
    }
    const issued = issueReceipt(signer, 'consumer', {
      ...base,
      provider: attempt.provider,
      consumer: signer.peerId,
      completionTokens: attempt.tokens,
      complete: attempt.final !== undefined,
      price: price ?? { prompt: 0, completion: 0 }
    })
    ledger.append('receipt', 'spent', issued)
    this.offer(issued)
  }

  /** Offers a receipt we issued to its provider and records its countersignature. */
  private offer(signed: SignedReceipt): void {
    const { libp2p, ledger, logger } = this.init
    if (libp2p === undefined) return
    const provider = peerIdFromString(signed.receipt.provider)
    this.track(
      this.retried(
        () => offerReceipt(libp2p, provider, signed),
        (answer) => answer.type === 'refused' && answer.code === JOB_UNKNOWN
      ).then((answer) => {
        if (answer.type === 'refused') return this.refused(signed, answer)
        if (!verifiedBy(signed.receipt.provider, receiptSigningBytes(signed.receipt), answer.providerSig)) {
          logger.warn('provider countersignature does not verify', { provider: signed.receipt.provider })
          return
        }
        ledger.append('countersign', 'spent', { ...signed, providerSig: answer.providerSig })
      }),
      signed.receipt.provider
    )
  }

  /** Sends a provider our countersignatures of its receipts, in one message. */
  private offerBatch(provider: string, batch: SignedReceipt[]): void {
    const { libp2p } = this.init
    if (libp2p === undefined) return
    const peer = peerIdFromString(provider)
    this.track(
      this.retried(
        () => offerReceipts(libp2p, peer, batch),
        () => false
      ).then((answers) => answers.forEach((answer, i) => answer.type === 'refused' && this.refused(batch[i], answer))),
      provider
    )
  }

  private refused(signed: SignedReceipt, answer: Extract<ReceiptAnswer, { type: 'refused' }>): void {
    this.init.logger.info('provider refused to countersign', {
      provider: signed.receipt.provider,
      job: signed.receipt.jobId,
      code: answer.code,
      message: answer.message
    })
  }

  private track(exchange: Promise<void>, provider: string): void {
    const done = exchange
      .catch((err) => this.init.logger.debug('receipt exchange failed', { provider, err }))
      .finally(() => this.offers.delete(done))
    this.offers.add(done)
  }

  /**
   * One exchange, tried again a little later when the provider is unreachable or (for a receipt this
   * node issued) has not yet noted the job cut short: a consumer that gave up on a stalled stream can
   * be faster than the provider.
   */
  private async retried<T>(exchange: () => Promise<T>, tryAgain: (answer: T) => boolean): Promise<T> {
    for (let i = 0; ; i++) {
      const last = i === OFFER_RETRY_MS.length
      try {
        const answer = await exchange()
        if (last || !tryAgain(answer)) return answer
      } catch (err) {
        if (last) throw err
      }
      await sleep(OFFER_RETRY_MS[i])
    }
  }
}
