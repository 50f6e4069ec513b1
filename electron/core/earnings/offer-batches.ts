import { MAX_OFFERS_PER_MESSAGE, type SignedReceipt } from '../../../shared/receipt'

/** How long a countersignature waits for others to the same provider. */
export const OFFER_BATCH_MS = 500

/**
 * Countersignatures of finished jobs, waiting per provider to go out together: a batch leaves when it
 * is full or `delayMs` after the first one waited, so a busy consumer opens one receipt stream per
 * provider every half second instead of one per job (each stream cost both nodes more CPU than the
 * receipt it carried). Bounded: one batch per provider, at most MAX_OFFERS_PER_MESSAGE in each.
 */
export class OfferBatches {
  private readonly waiting = new Map<string, SignedReceipt[]>()
  private timer?: ReturnType<typeof setTimeout>

  constructor(
    private readonly send: (provider: string, batch: SignedReceipt[]) => void,
    private readonly delayMs = OFFER_BATCH_MS
  ) {}

  add(signed: SignedReceipt): void {
    const provider = signed.receipt.provider
    const batch = this.waiting.get(provider) ?? []
    batch.push(signed)
    this.waiting.set(provider, batch)
    if (batch.length >= MAX_OFFERS_PER_MESSAGE) this.sendNow(provider)
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.delayMs)
      this.timer.unref?.()
    }
  }

  /** Sends every waiting batch now (a clean stop, or a test that reads the provider's ledger). */
  flush(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    for (const provider of [...this.waiting.keys()]) this.sendNow(provider)
  }

  private sendNow(provider: string): void {
    const batch = this.waiting.get(provider)
    this.waiting.delete(provider)
    if (batch !== undefined && batch.length > 0) this.send(provider, batch)
  }
}
