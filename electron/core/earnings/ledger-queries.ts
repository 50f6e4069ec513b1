import type { EarningsQuery, EarningsResponse, LedgerRole, RecentReceipt, Totals } from '../../../shared/earnings'
import { NANO } from '../../../shared/price'
import { SignedReceiptSchema } from '../../../shared/receipt'
import type { Ledger } from './ledger'
import { checkReceipt } from './receipts'

interface SumRow {
  key: string
  role: LedgerRole
  jobs: number
  prompt: number
  completion: number
  nano: number
}

const ZERO: Totals = { jobs: 0, promptTokens: 0, completionTokens: 0, amount: 0 }

const totals = (row: SumRow | undefined): Totals =>
  row === undefined
    ? { ...ZERO }
    : { jobs: row.jobs, promptTokens: row.prompt, completionTokens: row.completion, amount: row.nano / NANO }

/** Sums of receipts (countersignatures add no work), grouped by `column` and role. */
function sums(
  ledger: Ledger,
  column: 'day' | 'model' | 'counterparty' | "'all'",
  where = '',
  params: Array<string | number> = []
): SumRow[] {
  const sql = `SELECT ${column} AS key, role, COUNT(*) AS jobs, SUM(prompt_tokens) AS prompt, SUM(completion_tokens) AS completion, SUM(amount_nano) AS nano
    FROM entries WHERE kind = 'receipt' ${where} GROUP BY ${column}, role ORDER BY ${column}`
  return ledger.db.prepare(sql).all(...params) as unknown as SumRow[]
}

/** Rows of `{ key, earned, spent }`; receipts served for this node itself are left out of these. */
function split<K extends string>(
  rows: SumRow[],
  name: K
): Array<Record<K, string> & { earned: Totals; spent: Totals }> {
  const out = new Map<string, { earned: Totals; spent: Totals }>()
  for (const row of rows) {
    if (row.role === 'self') continue
    const entry = out.get(row.key) ?? { earned: { ...ZERO }, spent: { ...ZERO } }
    entry[row.role] = totals(row)
    out.set(row.key, entry)
  }
  return [...out].map(
    ([key, value]) => ({ [name]: key, ...value }) as Record<K, string> & { earned: Totals; spent: Totals }
  )
}

export function recentReceipts(ledger: Ledger, limit: number): RecentReceipt[] {
  // the newest form of each of the newest receipts: a later countersignature replaces the first one
  const rows = ledger.db
    .prepare(
      `SELECT r.seq AS seq, r.role AS role, r.counterparty AS counterparty,
         COALESCE((SELECT c.body FROM entries c WHERE c.receipt_id = r.receipt_id AND c.kind = 'countersign' ORDER BY c.seq DESC LIMIT 1), r.body) AS body
       FROM entries r WHERE r.kind = 'receipt' ORDER BY r.seq DESC LIMIT ?`
    )
    .all(limit) as Array<{ seq: number; role: LedgerRole; counterparty: string; body: string }>
  return rows.map((row) => {
    const signed = SignedReceiptSchema.parse(JSON.parse(row.body))
    const check = checkReceipt(signed)
    return {
      seq: row.seq,
      role: row.role,
      counterparty: row.counterparty,
      signed,
      providerSigValid: check.providerSigValid,
      consumerSigValid: check.consumerSigValid
    }
  })
}

export interface SummaryContext {
  unit: string
  paused: boolean
  now?: number
}

/** The `GET /api/earnings` answer. */
export function earningsSummary(ledger: Ledger, query: EarningsQuery, context: SummaryContext): EarningsResponse {
  const all = sums(ledger, "'all'")
  const byRole = (role: LedgerRole): Totals => totals(all.find((r) => r.role === role))
  const days = query.days ?? 30
  const since = new Date((context.now ?? Date.now()) - (days - 1) * 86_400_000).toISOString().slice(0, 10)
  const head = ledger.head()
  const entries = (ledger.db.prepare('SELECT COUNT(*) AS n FROM entries').get() as { n: number }).n
  return {
    unit: context.unit,
    paused: context.paused,
    earned: byRole('earned'),
    spent: byRole('spent'),
    servedForYou: byRole('self'),
    byDay: split(sums(ledger, 'day', 'AND day >= ?', [since]), 'day'),
    byModel: split(sums(ledger, 'model'), 'model'),
    byPeer: split(sums(ledger, 'counterparty'), 'peerId'),
    recent: recentReceipts(ledger, query.recent ?? 20),
    ledger: { entries, headSeq: head?.seq ?? 0, headHash: head?.hash ?? '' }
  }
}

/** Every receipt (its newest form) for export, oldest first. */
export function allReceipts(ledger: Ledger): RecentReceipt[] {
  return recentReceipts(ledger, Number.MAX_SAFE_INTEGER).reverse()
}
