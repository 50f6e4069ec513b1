import { beforeAll, describe, expect, it } from 'vitest'
import type { Signer } from '../../../electron/core/earnings/keys'
import { checkReceipt, countersign, disagreements, issueReceipt } from '../../../electron/core/earnings/receipts'
import { receiptSigningBytes } from '../../../shared/receipt'
import { bothSigned, draft, newSigner } from './fixtures'

let provider: Signer
let consumer: Signer
let stranger: Signer

beforeAll(async () => {
  ;[provider, consumer, stranger] = await Promise.all([newSigner(), newSigner(), newSigner()])
})

describe('receipts', () => {
  it('verify with the provider signature and the consumer countersignature', () => {
    const signed = bothSigned(provider, consumer)
    // 12 prompt tokens at 0.5 and 40 completion tokens at 2 credits per million
    expect(signed.receipt.amountNano).toBe(12 * 500 + 40 * 2000)
    expect(checkReceipt(signed)).toEqual({ providerSigValid: true, consumerSigValid: true, problems: [] })
  })

  it('a consumer-issued receipt (job cut short) is countersigned by the provider', () => {
    const issued = issueReceipt(
      consumer,
      'consumer',
      draft(provider, consumer, { complete: false, completionTokens: 7 })
    )
    expect(checkReceipt(issued)).toMatchObject({ providerSigValid: false, consumerSigValid: true, problems: [] })
    const signed = countersign(provider, issued)
    expect(checkReceipt(signed)).toEqual({ providerSigValid: true, consumerSigValid: true, problems: [] })
  })

  it('detects a changed field under both signatures', () => {
    const signed = bothSigned(provider, consumer)
    for (const change of [
      { completionTokens: 41 },
      { model: 'other' },
      { consumer: stranger.peerId },
      { endedAt: signed.receipt.endedAt + 1 }
    ]) {
      const forged = { ...signed, receipt: { ...signed.receipt, ...change } }
      const check = checkReceipt(forged)
      expect(check.providerSigValid).toBe(false)
      expect(check.problems).toContain('the provider signature does not verify')
    }
  })

  it('detects an amount that does not add up even when signed', () => {
    const signed = issueReceipt(provider, 'provider', draft(provider, consumer))
    const receipt = { ...signed.receipt, amountNano: signed.receipt.amountNano * 10 }
    const resigned = { receipt, providerSig: provider.sign(receiptSigningBytes(receipt)) }
    expect(checkReceipt(resigned).problems).toContain('the amount does not match price × tokens')
  })

  it('rejects a signature by the wrong key', () => {
    const signed = issueReceipt(provider, 'provider', draft(provider, consumer))
    const wrong = { ...signed, providerSig: stranger.sign(receiptSigningBytes(signed.receipt)) }
    expect(checkReceipt(wrong).problems).toContain('the provider signature does not verify')
    const wrongCounter = { ...signed, consumerSig: stranger.sign(receiptSigningBytes(signed.receipt)) }
    expect(checkReceipt(wrongCounter).problems).toContain('the consumer signature does not verify')
  })

  it('only the named parties may issue or countersign', () => {
    expect(() => issueReceipt(stranger, 'provider', draft(provider, consumer))).toThrow(/not this node/)
    const signed = issueReceipt(provider, 'provider', draft(provider, consumer))
    expect(() => countersign(stranger, signed)).toThrow(/not the consumer/)
  })

  it('rejects malformed input without throwing', () => {
    expect(checkReceipt({ receipt: { v: 2 } }).problems[0]).toMatch(/malformed/)
    expect(checkReceipt('x'.repeat(10)).problems[0]).toMatch(/malformed/)
  })

  it('the consumer checks a provider receipt against what it received', () => {
    const signed = issueReceipt(provider, 'provider', draft(provider, consumer))
    const expected = {
      jobId: 'chatcmpl-1',
      provider: provider.peerId,
      consumer: consumer.peerId,
      model: 'meshwork-tiny',
      completionTokens: 40,
      price: { prompt: 0.5, completion: 2 }
    }
    expect(disagreements(signed.receipt, expected)).toEqual([])
    expect(disagreements(signed.receipt, { ...expected, completionTokens: 39 })).toEqual([
      '40 completion tokens, 39 received'
    ])
    expect(disagreements(signed.receipt, { ...expected, price: { prompt: 0.5, completion: 1 } })).toEqual([
      'a higher price than advertised'
    ])
  })
})
