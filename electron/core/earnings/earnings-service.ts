import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { join } from 'node:path'
import type { Advert } from '../../../shared/advert'
import type { EarningsQuery, EarningsResponse, VerifyReport } from '../../../shared/earnings'
import { type AdvertPrice, priceOf } from '../../../shared/price'
import { type JobAccounting, RECEIPT_PROTOCOL, type ServedJob, type SignedReceipt } from '../../../shared/receipt'
import type { Logger } from '../util/logger'
import type { AbortOptions, Startable } from '../util/startable'
import { ConsumerAccounting, type SettledAttempt } from './consumer-accounting'
import { DeferredWrites } from './deferred-writes'
import { signerFromKey } from './keys'
import { LEDGER_FILE, Ledger } from './ledger'
import { earningsSummary } from './ledger-queries'
import { verifyLedger } from './ledger-verify'
import { ProviderAccounting } from './provider-accounting'
import { handleReceiptProtocol } from './receipt-protocol'

export interface EarningsInit {
  dataDir: string
  privateKey: PrivateKey
  /** This node's prices as a provider (what its advert says). */
  price: () => AdvertPrice
  isPaused: () => boolean
  /** The current verified advert of a peer, from the peer directory. */
  advertOf: (peerId: string) => Advert | undefined
  logger: Logger
}

export interface EarningsComponents {
  libp2p?: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol' | 'getConnections'>
}

/**
 * Receipts and the ledger, for both halves of the infer protocol: the provider half calls
 * `settle` (a finished job) or `cutShort`; the router's 'attempt:settled' events go to
 * `attemptSettled`. The API reads `summary()` and `verify()`.
 */
export class EarningsService implements Startable, JobAccounting {
  private ledger?: Ledger
  private provider?: ProviderAccounting
  private consumer?: ConsumerAccounting
  private readonly log: Logger
  /** Ledger writes that wait until the client's last byte (see DeferredWrites). */
  private readonly writes: DeferredWrites

  constructor(
    private readonly components: EarningsComponents,
    private readonly init: EarningsInit
  ) {
    this.log = init.logger.child('earnings')
    this.writes = new DeferredWrites(
      (err) => this.log.error('recording a receipt failed', { err }),
      (work) => (this.ledger ? this.ledger.batch(work) : work())
    )
  }

  async start(): Promise<void> {
    const signer = signerFromKey(this.init.privateKey)
    const ledger = Ledger.open(join(this.init.dataDir, LEDGER_FILE), signer, {
      onSyncError: (err) => this.log.warn('flushing the ledger to disk failed', { err })
    })
    const unit = (): string => this.init.price().currency
    this.ledger = ledger
    this.provider = new ProviderAccounting(
      ledger,
      signer,
      (model) => priceOf(this.init.price(), model),
      unit,
      this.log,
      this.writes
    )
    this.consumer = new ConsumerAccounting({
      ledger,
      signer,
      libp2p: this.components.libp2p,
      advertisedPrice: (peerId, model) => {
        const advert = this.init.advertOf(peerId)
        return advert === undefined ? undefined : priceOf(advert.price, model)
      },
      advertisedSha256: (peerId, model) => this.init.advertOf(peerId)?.models.find((m) => m.name === model)?.sha256,
      unit,
      logger: this.log,
      writes: this.writes
    })
    const provider = this.provider
    if (this.components.libp2p)
      await handleReceiptProtocol(this.components.libp2p, (signed, from) => provider.onOffer(signed, from), this.log)
  }

  async stop(options: AbortOptions = {}): Promise<void> {
    await this.components.libp2p?.unhandle(RECEIPT_PROTOCOL).catch(() => {})
    const bounded = AbortSignal.any([AbortSignal.timeout(6_000), ...(options.signal ? [options.signal] : [])])
    await Promise.race([
      this.consumer?.settled(),
      new Promise((resolve) => bounded.addEventListener('abort', resolve, { once: true }))
    ])
    this.writes.flush()
    this.ledger?.close()
  }

  /** Provider half: a job finished; returns the signed receipt for its final frame. */
  settle(job: ServedJob): SignedReceipt | undefined {
    return this.guard('recording a served job', () => this.provider?.settle(job))
  }

  /** Provider half: a job ended without its final frame. */
  cutShort(job: ServedJob): void {
    this.guard('remembering a job cut short', () => this.provider?.cutShort(job))
  }

  /** Consumer half: one attempt of a routed request settled (the router's 'attempt:settled'). */
  attemptSettled(attempt: SettledAttempt): void {
    this.guard('recording an attempt', () => this.consumer?.attemptSettled(attempt))
  }

  summary(query: EarningsQuery = {}): EarningsResponse {
    if (this.ledger === undefined) throw new Error('earnings are not started')
    this.writes.flush()
    return earningsSummary(this.ledger, query, { unit: this.init.price().currency, paused: this.init.isPaused() })
  }

  verify(): VerifyReport {
    if (this.ledger === undefined) throw new Error('earnings are not started')
    this.writes.flush()
    return verifyLedger(this.ledger, { expectedOwner: this.ledger.owner })
  }

  /** Waits for receipt exchanges under way (tests). */
  async settled(): Promise<void> {
    await this.consumer?.settled()
  }

  /** Accounting never breaks serving or routing: a failure is logged, the job goes on. */
  private guard<T>(what: string, fn: () => T): T | undefined {
    try {
      return fn()
    } catch (err) {
      this.log.error(`${what} failed`, { err })
      return undefined
    }
  }
}

export function earningsService(init: EarningsInit): (components: EarningsComponents) => EarningsService {
  return (components) => new EarningsService(components, init)
}
