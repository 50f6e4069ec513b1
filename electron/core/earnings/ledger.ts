import { existsSync } from 'node:fs'
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import type { LedgerRole } from '../../../shared/earnings'
import { canonicalJson, type SignedReceipt, SignedReceiptSchema } from '../../../shared/receipt'
import { MeshworkError } from '../util/errors'
import { StatementCache } from '../util/statement-cache'
import type { Signer } from './keys'
import { WalSync } from './wal-sync'
import {
  type EntryKind,
  type EntryRow,
  GENESIS_HASH,
  type HeadRow,
  LEDGER_SQL,
  derivedColumns,
  entryHash,
  headSigningBytes
} from './ledger-schema'

export const LEDGER_FILE = 'ledger.sqlite'

export class LedgerError extends MeshworkError {
  constructor(message: string, code = 'ledger_error') {
    super(message, code, 500)
    this.name = 'LedgerError'
  }
}

export interface LedgerOptions {
  /** Flushing the log to disk failed (the commit stands; the next one tries again): once per run of failures. */
  onSyncError?: (err: unknown) => void
  /** Opens the log for those flushes (tests watch them). */
  openWal?: ConstructorParameters<typeof WalSync>[2]
}

/**
 * This node's receipts: an append-only, hash-chained SQLite table with a signed chain head. Each
 * append is one transaction (row + head), so a crash leaves either the whole receipt or none of it.
 */
export class Ledger {
  private constructor(
    readonly db: DatabaseSync,
    /** The peer whose ledger this is (it signs the head). */
    readonly owner: string,
    private readonly signer?: Signer,
    /** Flushes each commit's log to disk off the event loop (see WalSync). */
    private readonly walSync?: WalSync
  ) {
    this.statements = new StatementCache(db)
  }

  /** An append runs four statements; each is compiled once. */
  private readonly statements: StatementCache

  /** Opens (creating if needed) the ledger of the node that `signer` speaks for. */
  static open(path: string, signer: Signer, options: LedgerOptions = {}): Ledger {
    const db = new DatabaseSync(path)
    try {
      // NORMAL: a commit survives kill -9 at once and reaches the disk right after (WalSync)
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;')
      db.exec(LEDGER_SQL)
      const owner = db.prepare("SELECT value FROM meta WHERE key = 'owner'").get() as { value: string } | undefined
      if (owner === undefined) db.prepare("INSERT INTO meta (key, value) VALUES ('owner', ?)").run(signer.peerId)
      else if (owner.value !== signer.peerId)
        throw new LedgerError(
          `${path} belongs to ${owner.value}, not to this node (${signer.peerId})`,
          'ledger_owner_mismatch'
        )
    } catch (err) {
      db.close()
      throw err
    }
    const walSync = new WalSync(`${path}-wal`, options.onSyncError ?? (() => {}), options.openWal)
    return new Ledger(db, signer.peerId, signer, walSync)
  }

  /** Opens an existing ledger only to read and verify it (the CLI does this while the node runs). */
  static openReadOnly(path: string): Ledger {
    if (!existsSync(path))
      throw new LedgerError(`no ledger at ${path}: this node has recorded no receipts yet`, 'ledger_missing')
    const db = new DatabaseSync(path, { readOnly: true })
    db.exec('PRAGMA busy_timeout = 5000;')
    const owner = db.prepare("SELECT value FROM meta WHERE key = 'owner'").get() as { value: string } | undefined
    if (owner === undefined) {
      db.close()
      throw new LedgerError(`${path} names no owner`, 'ledger_corrupt')
    }
    return new Ledger(db, owner.value)
  }

  /** Closing checkpoints the log into the database file and flushes it (SQLite does both). */
  close(): void {
    this.statements.clear()
    if (this.db.isOpen) this.db.close()
    void this.walSync?.close()
  }

  /** Resolves once every commit so far has been flushed to disk. */
  async durable(): Promise<void> {
    await this.walSync?.settled()
  }

  private statement(sql: string): StatementSync {
    return this.statements.get(sql)
  }

  head(): HeadRow | undefined {
    return this.statement('SELECT seq, hash, at, signature FROM head WHERE id = 1').get() as HeadRow | undefined
  }

  hasReceipt(receiptId: string): boolean {
    return (
      this.statement("SELECT 1 FROM entries WHERE receipt_id = ? AND kind = 'receipt'").get(receiptId) !== undefined
    )
  }

  /** The latest stored form of a receipt (countersigned if that arrived), with its role. */
  latest(receiptId: string): { role: LedgerRole; signed: SignedReceipt } | undefined {
    const row = this.statement('SELECT role, body FROM entries WHERE receipt_id = ? ORDER BY seq DESC LIMIT 1').get(
      receiptId
    ) as { role: LedgerRole; body: string } | undefined
    return row === undefined ? undefined : { role: row.role, signed: SignedReceiptSchema.parse(JSON.parse(row.body)) }
  }

  /** Appends one entry and re-signs the head, atomically. Returns the stored row. */
  append(kind: EntryKind, role: LedgerRole, signed: SignedReceipt): EntryRow {
    if (this.signer === undefined) throw new LedgerError('this ledger was opened read-only', 'ledger_read_only')
    const signer = this.signer
    const body = canonicalJson(signed)
    // inside a batch: a savepoint, so one bad entry does not undo the others
    const nested = this.db.isTransaction
    this.db.exec(nested ? 'SAVEPOINT entry' : 'BEGIN IMMEDIATE')
    try {
      if (kind === 'receipt' && this.hasReceipt(signed.receipt.id))
        throw new LedgerError(`receipt ${signed.receipt.id} is already recorded`, 'receipt_duplicate')
      if (kind === 'countersign' && !this.hasReceipt(signed.receipt.id))
        throw new LedgerError(`receipt ${signed.receipt.id} is not in the ledger`, 'receipt_unknown')
      const head = this.head()
      const seq = (head?.seq ?? 0) + 1
      const at = Date.now()
      const partial = { seq, kind, role, at, body, prev_hash: head?.hash ?? GENESIS_HASH }
      const row: EntryRow = { ...partial, ...derivedColumns(signed, role), hash: entryHash(partial) }
      this.statement(
        `INSERT INTO entries (seq, kind, role, receipt_id, job_id, counterparty, model, day, prompt_tokens, completion_tokens, amount_nano, at, body, prev_hash, hash)
           VALUES ($seq, $kind, $role, $receipt_id, $job_id, $counterparty, $model, $day, $prompt_tokens, $completion_tokens, $amount_nano, $at, $body, $prev_hash, $hash)`
      ).run({ ...row })
      const signature = signer.sign(headSigningBytes(this.owner, { seq, hash: row.hash, at }))
      this.statement(
        'INSERT INTO head (id, seq, hash, at, signature) VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, at = excluded.at, signature = excluded.signature'
      ).run(seq, row.hash, at, signature)
      this.db.exec(nested ? 'RELEASE entry' : 'COMMIT')
      if (!nested) this.walSync?.request()
      return row
    } catch (err) {
      if (nested) this.db.exec('ROLLBACK TO entry; RELEASE entry')
      else if (this.db.isTransaction) this.db.exec('ROLLBACK')
      throw err
    }
  }

  /** Runs `appends` in one transaction: one commit and one flush for all the entries they append. */
  batch(appends: () => void): void {
    if (this.signer === undefined || this.db.isTransaction) return appends()
    this.db.exec('BEGIN IMMEDIATE')
    try {
      appends()
      this.db.exec('COMMIT')
      this.walSync?.request()
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK')
      throw err
    }
  }
}
