import { createHash } from 'node:crypto'
import type { LedgerRole } from '../../../shared/earnings'
import { canonicalJson, type SignedReceipt } from '../../../shared/receipt'

/** `receipt`: a receipt as first recorded; `countersign`: the same receipt once it carries both signatures. */
export type EntryKind = 'receipt' | 'countersign'

export const GENESIS_HASH = '0'.repeat(64)
export const HEAD_SIGNING_DOMAIN = 'meshwork-ledger-head/1\n'

export const LEDGER_SQL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS entries (
  seq INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('receipt', 'countersign')),
  role TEXT NOT NULL CHECK (role IN ('earned', 'spent', 'self')),
  receipt_id TEXT NOT NULL,
  job_id TEXT NOT NULL,
  counterparty TEXT NOT NULL,
  model TEXT NOT NULL,
  day TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  amount_nano INTEGER NOT NULL,
  at INTEGER NOT NULL,
  body TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS entries_receipt ON entries (receipt_id) WHERE kind = 'receipt';
CREATE INDEX IF NOT EXISTS entries_day ON entries (day);
CREATE INDEX IF NOT EXISTS entries_model ON entries (model);
CREATE INDEX IF NOT EXISTS entries_counterparty ON entries (counterparty);
CREATE TABLE IF NOT EXISTS head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  at INTEGER NOT NULL,
  signature TEXT NOT NULL
) STRICT;
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
`

/** One row as stored. Every column but the hashes is either hashed itself or derived from `body`. */
export interface EntryRow {
  seq: number
  kind: EntryKind
  role: LedgerRole
  receipt_id: string
  job_id: string
  counterparty: string
  model: string
  day: string
  prompt_tokens: number
  completion_tokens: number
  amount_nano: number
  at: number
  body: string
  prev_hash: string
  hash: string
}

export interface HeadRow {
  seq: number
  hash: string
  at: number
  signature: string
}

/** The peer a receipt was exchanged with, from this node's side. */
export function counterpartyOf(role: LedgerRole, signed: SignedReceipt): string {
  return role === 'earned' ? signed.receipt.consumer : signed.receipt.provider
}

/** Columns derived from the body: the verifier recomputes them, so editing one is detected too. */
export function derivedColumns(
  signed: SignedReceipt,
  role: LedgerRole
): Omit<EntryRow, 'seq' | 'kind' | 'role' | 'at' | 'body' | 'prev_hash' | 'hash'> {
  const r = signed.receipt
  return {
    receipt_id: r.id,
    job_id: r.jobId,
    counterparty: counterpartyOf(role, signed),
    model: r.model,
    day: new Date(r.endedAt).toISOString().slice(0, 10),
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    amount_nano: r.amountNano
  }
}

export function entryHash(entry: Pick<EntryRow, 'seq' | 'kind' | 'role' | 'at' | 'body' | 'prev_hash'>): string {
  const text = canonicalJson({
    seq: entry.seq,
    kind: entry.kind,
    role: entry.role,
    at: entry.at,
    body: entry.body,
    prev: entry.prev_hash
  })
  return createHash('sha256').update(text).digest('hex')
}

export function headSigningBytes(owner: string, head: Pick<HeadRow, 'seq' | 'hash' | 'at'>): Uint8Array {
  return new TextEncoder().encode(
    HEAD_SIGNING_DOMAIN + canonicalJson({ owner, seq: head.seq, hash: head.hash, at: head.at })
  )
}
