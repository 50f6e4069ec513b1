import { generateKeyPair } from '@libp2p/crypto/keys'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Signer, signerFromKey } from '../../../electron/core/earnings/keys'
import { type ReceiptDraft, countersign, issueReceipt } from '../../../electron/core/earnings/receipts'
import type { SignedReceipt } from '../../../shared/receipt'

export async function newSigner(): Promise<Signer> {
  return signerFromKey(await generateKeyPair('Ed25519'))
}

export function draft(provider: Signer, consumer: Signer, overrides: Partial<ReceiptDraft> = {}): ReceiptDraft {
  const endedAt = overrides.endedAt ?? Date.UTC(2026, 10, 30, 12, 0, 0)
  return {
    jobId: 'chatcmpl-1',
    provider: provider.peerId,
    consumer: consumer.peerId,
    model: 'meshwork-tiny',
    sha256: 'a'.repeat(64),
    promptTokens: 12,
    completionTokens: 40,
    complete: true,
    durationMs: 250,
    price: { prompt: 0.5, completion: 2 },
    unit: 'credits',
    startedAt: endedAt - 250,
    endedAt,
    ...overrides
  }
}

/** A receipt issued by the provider and countersigned by the consumer. */
export function bothSigned(provider: Signer, consumer: Signer, overrides: Partial<ReceiptDraft> = {}): SignedReceipt {
  return countersign(consumer, issueReceipt(provider, 'provider', draft(provider, consumer, overrides)))
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-ledger-'))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}
