import { join } from 'node:path'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Signer } from '../../../electron/core/earnings/keys'
import { Ledger } from '../../../electron/core/earnings/ledger'
import { ProviderAccounting } from '../../../electron/core/earnings/provider-accounting'
import { addSignature, countersign } from '../../../electron/core/earnings/receipts'
import { createLogger } from '../../../electron/core/util/logger'
import { receiptSigningBytes, type SignedReceipt } from '../../../shared/receipt'
import { newSigner, tempDir } from './fixtures'

// A consumer's countersignature of a receipt the provider issued is checked against the receipt the
// provider stored: the receipt must be that one, byte for byte, and the consumer's signature must
// verify over it. Whatever else the offer carries (a provider signature) is not taken from it.

let me: Signer
let consumer: Signer
let stranger: Signer
let dir: ReturnType<typeof tempDir>
let ledger: Ledger
let provider: ProviderAccounting

beforeAll(async () => {
  ;[me, consumer, stranger] = await Promise.all([newSigner(), newSigner(), newSigner()])
})
beforeEach(() => {
  dir = tempDir()
  ledger = Ledger.open(join(dir.dir, 'ledger.sqlite'), me)
  const price = { prompt: 1, completion: 4 }
  provider = new ProviderAccounting(
    ledger,
    me,
    () => price,
    () => 'credits',
    createLogger('test', { level: 'error' })
  )
})
afterEach(() => {
  ledger.close()
  dir.cleanup()
})

function served(jobId: string): SignedReceipt {
  const now = Date.now()
  return provider.settle({
    jobId,
    consumer: consumer.peerId,
    model: 'meshwork-tiny',
    sha256: 'a'.repeat(64),
    promptTokens: 5,
    completionTokens: 20,
    startedAt: now - 50,
    endedAt: now
  })
}

describe("a provider's answer to a countersignature", () => {
  it('records the countersignature of a receipt it issued and answers with its stored signature', () => {
    const issued = served('job-1')
    const answer = provider.onOffer(countersign(consumer, issued), consumer.peerId)
    expect(answer).toEqual({ type: 'countersigned', providerSig: issued.providerSig })
    expect(ledger.latest(issued.receipt.id)?.signed.consumerSig).toBeDefined()
  })

  it('refuses a consumer signature that does not verify over the receipt', () => {
    const issued = served('job-2')
    // signed by another key, or over other bytes
    const byStranger = { ...issued, consumerSig: stranger.sign(receiptSigningBytes(issued.receipt)) }
    const otherBytes = { ...issued, consumerSig: countersign(consumer, served('job-3')).consumerSig }
    for (const offer of [byStranger, otherBytes, { ...issued, consumerSig: '0'.repeat(128) }])
      expect(() => provider.onOffer(offer, consumer.peerId)).toThrow(/the consumer has not signed it/)
    expect(ledger.latest(issued.receipt.id)?.signed.consumerSig).toBeUndefined()
  })

  it('refuses a receipt it did not issue, even one both signatures fit', () => {
    const issued = served('job-4')
    const inflated = { ...issued.receipt, completionTokens: 2_000 }
    const forged = addSignature(consumer, { receipt: inflated })
    expect(() => provider.onOffer({ ...forged, providerSig: issued.providerSig }, consumer.peerId)).toThrow(
      /issued no such receipt/
    )
    expect(ledger.latest(issued.receipt.id)?.signed.receipt.completionTokens).toBe(20)
  })

  it('keeps its own signature, not the one an offer carries', () => {
    const issued = served('job-5')
    const offer = { ...countersign(consumer, issued), providerSig: 'f'.repeat(128) }
    expect(provider.onOffer(offer, consumer.peerId)).toEqual({ type: 'countersigned', providerSig: issued.providerSig })
    expect(ledger.latest(issued.receipt.id)?.signed.providerSig).toBe(issued.providerSig)
  })
})
