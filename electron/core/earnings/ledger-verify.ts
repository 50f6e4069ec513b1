import type { LedgerRole, VerifyReport } from '../../../shared/earnings'
import { canonicalJson, type SignedReceipt, SignedReceiptSchema } from '../../../shared/receipt'
import { verifiedBy } from './keys'
import type { Ledger } from './ledger'
import { type EntryRow, GENESIS_HASH, derivedColumns, entryHash, headSigningBytes } from './ledger-schema'
import { checkReceipt } from './receipts'

const MAX_PROBLEMS = 1000

/**
 * Walks the whole chain: contiguous sequence numbers, each row's hash and link to the one before,
 * columns that match the signed body, every signature, and a head signed by the owner that names
 * the last row. An edited, deleted, inserted or reordered row breaks at least one of these.
 */
export function verifyLedger(ledger: Ledger, options: { expectedOwner?: string } = {}): VerifyReport {
  // One read transaction for the rows and the head: the CLI verifies while the node appends, and
  // an entry committed between the two reads would look like a head past the end of the chain.
  const { db } = ledger
  if (db.isTransaction) return walkLedger(ledger, options)
  db.exec('BEGIN')
  try {
    return walkLedger(ledger, options)
  } finally {
    db.exec('COMMIT')
  }
}

function walkLedger(ledger: Ledger, options: { expectedOwner?: string }): VerifyReport {
  const problems: VerifyReport['problems'] = []
  const note = (seq: number, problem: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push({ seq, problem })
  }
  if (options.expectedOwner !== undefined && options.expectedOwner !== ledger.owner)
    note(0, `the ledger names ${ledger.owner} as owner, not ${options.expectedOwner}`)
  const receipts = new Map<string, string>()
  let expectedSeq = 1
  let prevHash = GENESIS_HASH
  let entries = 0
  let receiptCount = 0
  let signaturesChecked = 0
  const rows = ledger.db.prepare('SELECT * FROM entries ORDER BY seq').iterate() as Iterable<EntryRow>
  for (const row of rows) {
    entries++
    if (row.seq !== expectedSeq)
      note(
        row.seq,
        `expected entry ${expectedSeq} here: ${row.seq > expectedSeq ? 'entries are missing' : 'out of order'}`
      )
    if (row.prev_hash !== prevHash)
      note(row.seq, 'does not link to the entry before it (deleted, inserted or reordered)')
    if (entryHash(row) !== row.hash) note(row.seq, 'its content does not match its hash (edited)')
    expectedSeq = row.seq + 1
    prevHash = row.hash
    const signed = parseBody(row.body)
    if (signed === undefined) {
      note(row.seq, 'its body is not a signed receipt')
      continue
    }
    if (canonicalJson(signed) !== row.body) note(row.seq, 'its body is not in canonical form')
    const derived = derivedColumns(signed, row.role)
    for (const [column, value] of Object.entries(derived)) {
      if (row[column as keyof EntryRow] !== value) note(row.seq, `column ${column} does not match the signed receipt`)
    }
    const check = checkReceipt(signed)
    signaturesChecked += (signed.providerSig ? 1 : 0) + (signed.consumerSig ? 1 : 0)
    for (const problem of check.problems) note(row.seq, problem)
    for (const problem of roleProblems(row.role, signed, ledger.owner)) note(row.seq, problem)
    const content = canonicalJson(signed.receipt)
    if (row.kind === 'receipt') {
      receiptCount++
      if (receipts.has(signed.receipt.id)) note(row.seq, 'records a receipt a second time')
      receipts.set(signed.receipt.id, content)
    } else {
      if (receipts.get(signed.receipt.id) !== content)
        note(row.seq, 'countersigns a receipt that is not earlier in the ledger, or a changed one')
      if (!check.providerSigValid || !check.consumerSigValid)
        note(row.seq, 'a countersigned receipt lacks one of the two signatures')
    }
  }
  const head = ledger.head()
  if (head === undefined) {
    if (entries > 0) note(0, 'the ledger has entries but no signed head')
  } else {
    signaturesChecked++
    if (!verifiedBy(ledger.owner, headSigningBytes(ledger.owner, head), head.signature))
      note(head.seq, 'the chain head is not signed by the owner')
    if (head.seq !== expectedSeq - 1 || head.hash !== prevHash)
      note(
        head.seq,
        `the signed head names entry ${head.seq}, but the chain ends at ${expectedSeq - 1} (entries removed or added at the end)`
      )
  }
  return { ok: problems.length === 0, entries, receipts: receiptCount, signaturesChecked, problems }
}

function parseBody(body: string): SignedReceipt | undefined {
  try {
    const parsed = SignedReceiptSchema.safeParse(JSON.parse(body))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}

/** Earned means this node provided for someone else; spent, the reverse; self, both are this node. */
function roleProblems(role: LedgerRole, signed: SignedReceipt, owner: string): string[] {
  const { provider, consumer } = signed.receipt
  if (role === 'earned' && (provider !== owner || consumer === owner))
    return ['recorded as earned, but not provided by this node for another peer']
  if (role === 'spent' && (consumer !== owner || provider === owner))
    return ['recorded as spent, but not consumed by this node from another peer']
  if (role === 'self' && (provider !== owner || consumer !== owner))
    return ['recorded as served for this node, but names another peer']
  return []
}
