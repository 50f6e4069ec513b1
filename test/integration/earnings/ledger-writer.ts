// A child process that appends receipts to a ledger as fast as it can and prints each committed
// sequence number; the crash test kills it with SIGKILL in the middle of a burst.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { join } from 'node:path'
import { signerFromKey } from '../../../electron/core/earnings/keys'
import { LEDGER_FILE, Ledger } from '../../../electron/core/earnings/ledger'
import { countersign, issueReceipt } from '../../../electron/core/earnings/receipts'
import { loadOrCreateIdentity } from '../../../electron/core/identity'
import { createLogger } from '../../../electron/core/util/logger'

const dataDir = process.argv[2]
const me = signerFromKey(await loadOrCreateIdentity(dataDir, createLogger('writer', { level: 'error' })))
const consumer = signerFromKey(await generateKeyPair('Ed25519'))
const ledger = Ledger.open(join(dataDir, LEDGER_FILE), me)
for (let i = 0; ; i++) {
  const now = Date.now()
  const issued = issueReceipt(me, 'provider', {
    jobId: `job-${process.pid}-${i}`,
    provider: me.peerId,
    consumer: consumer.peerId,
    model: 'meshwork-tiny',
    sha256: 'b'.repeat(64),
    promptTokens: 10,
    completionTokens: 1 + (i % 50),
    complete: true,
    durationMs: 5,
    price: { prompt: 1, completion: 3 },
    unit: 'credits',
    startedAt: now - 5,
    endedAt: now
  })
  const row = ledger.append('receipt', 'earned', issued)
  // every third receipt gets its countersignature later, as a separate entry
  if (i % 3 === 0) ledger.append('countersign', 'earned', countersign(consumer, issued))
  process.stdout.write(`${row.seq} ${issued.receipt.id}\n`)
  if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve))
}
