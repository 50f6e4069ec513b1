import { randomBytes } from 'node:crypto'
import { amountNano, type ModelPrice } from '../../../shared/price'
import {
  type Receipt,
  ReceiptSchema,
  type SignedReceipt,
  SignedReceiptSchema,
  receiptSigningBytes
} from '../../../shared/receipt'
import { MeshworkError } from '../util/errors'
import { type Signer, verifiedBy } from './keys'

export class ReceiptRejectedError extends MeshworkError {
  constructor(reason: string, code = 'receipt_rejected') {
    super(`Receipt rejected: ${reason}`, code, 400)
    this.name = 'ReceiptRejectedError'
  }
}

export type ReceiptDraft = Omit<Receipt, 'v' | 'id' | 'issuer' | 'amountNano'>

/** Makes and signs a receipt as `issuer`; the signer must be that party. */
export function issueReceipt(signer: Signer, issuer: Receipt['issuer'], draft: ReceiptDraft): SignedReceipt {
  if (draft[issuer] !== signer.peerId) throw new ReceiptRejectedError(`the ${issuer} of this receipt is not this node`)
  const receipt = ReceiptSchema.parse({
    v: 1,
    id: randomBytes(16).toString('hex'),
    issuer,
    ...draft,
    durationMs: Math.round(draft.durationMs * 100) / 100,
    amountNano: amountNano(draft.price, draft.promptTokens, draft.completionTokens)
  })
  const signature = signer.sign(receiptSigningBytes(receipt))
  return issuer === 'provider' ? { receipt, providerSig: signature } : { receipt, consumerSig: signature }
}

/** Adds this node's signature as the party that did not issue the receipt (after checking it). */
export function countersign(signer: Signer, signed: SignedReceipt): SignedReceipt {
  const check = checkReceipt(signed)
  if (check.problems.length > 0) throw new ReceiptRejectedError(check.problems.join('; '))
  return addSignature(signer, signed)
}

/**
 * This node's signature added to a receipt that its caller has just checked or issued: `countersign`
 * without checking the same signatures a second time (a check costs more than a signature).
 */
export function addSignature(signer: Signer, signed: SignedReceipt): SignedReceipt {
  const { receipt } = signed
  const role = receipt.issuer === 'provider' ? 'consumer' : 'provider'
  if (receipt[role] !== signer.peerId) throw new ReceiptRejectedError(`this node is not the ${role} of the receipt`)
  const signature = signer.sign(receiptSigningBytes(receipt))
  return role === 'consumer' ? { ...signed, consumerSig: signature } : { ...signed, providerSig: signature }
}

export interface ReceiptCheck {
  providerSigValid: boolean
  consumerSigValid: boolean
  /** Empty when the receipt is well formed, its amount adds up and its issuer's signature is valid. */
  problems: string[]
}

/** Checks shape, arithmetic and both signatures (a missing countersignature is not a problem). */
export function checkReceipt(value: unknown): ReceiptCheck {
  const parsed = SignedReceiptSchema.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return {
      providerSigValid: false,
      consumerSigValid: false,
      problems: [`malformed: ${issue?.path.join('.')} ${issue?.message}`]
    }
  }
  const { receipt, providerSig, consumerSig } = parsed.data
  const bytes = receiptSigningBytes(receipt)
  const providerSigValid = verifiedBy(receipt.provider, bytes, providerSig)
  const consumerSigValid = verifiedBy(receipt.consumer, bytes, consumerSig)
  const problems: string[] = []
  if (providerSig !== undefined && !providerSigValid) problems.push('the provider signature does not verify')
  if (consumerSig !== undefined && !consumerSigValid) problems.push('the consumer signature does not verify')
  if (receipt.issuer === 'provider' && providerSig === undefined)
    problems.push('the provider issued it but did not sign it')
  if (receipt.issuer === 'consumer' && consumerSig === undefined)
    problems.push('the consumer issued it but did not sign it')
  if (receipt.amountNano !== amountNano(receipt.price, receipt.promptTokens, receipt.completionTokens))
    problems.push('the amount does not match price × tokens')
  if (receipt.endedAt < receipt.startedAt) problems.push('it ends before it starts')
  return { providerSigValid, consumerSigValid, problems }
}

/** What the consumer knows independently about a job; a provider's receipt must agree with it. */
export interface ReceiptExpectation {
  jobId: string
  provider: string
  consumer: string
  model: string
  /** Completion tokens that arrived (undefined when the runtime sends no token ids to count). */
  completionTokens?: number
  /** Prompt tokens sent, when known: a receipt may not charge more. */
  promptTokens?: number
  /** The price the provider's advert stated when the job was routed there. */
  price?: ModelPrice
}

export function disagreements(receipt: Receipt, expected: ReceiptExpectation): string[] {
  const out: string[] = []
  if (receipt.jobId !== expected.jobId) out.push(`job ${receipt.jobId}, not ${expected.jobId}`)
  if (receipt.provider !== expected.provider) out.push('names another provider')
  if (receipt.consumer !== expected.consumer) out.push('names another consumer')
  if (receipt.model !== expected.model) out.push(`model ${receipt.model}, not ${expected.model}`)
  if (receipt.completionTokens !== expected.completionTokens)
    out.push(`${receipt.completionTokens} completion tokens, ${expected.completionTokens} received`)
  const price = expected.price
  if (price !== undefined && (receipt.price.prompt > price.prompt || receipt.price.completion > price.completion))
    out.push('a higher price than advertised')
  return out
}
