import type { EarningsResponse, RecentReceipt, Totals, VerifyReport } from '../../shared/earnings'
import { NANO } from '../../shared/price'

const amountText = (amount: number, unit: string): string =>
  `${amount.toLocaleString('en-US', { maximumFractionDigits: 6 })} ${unit}`
const tokens = (t: Totals): string =>
  `${t.promptTokens.toLocaleString('en-US')} prompt + ${t.completionTokens.toLocaleString('en-US')} completion tokens`
const line = (label: string, t: Totals, unit: string): string =>
  `${label.padEnd(16)} ${String(t.jobs).padStart(6)} jobs  ${tokens(t).padEnd(44)} ${amountText(t.amount, unit)}`
const short = (peerId: string): string => (peerId.length > 20 ? `${peerId.slice(0, 8)}…${peerId.slice(-8)}` : peerId)

/** `meshwork earnings`: totals, then by model, by peer and by day. */
export function formatEarnings(e: EarningsResponse): string {
  const rows = [
    e.paused ? 'PAUSED: this node takes no jobs, so it earns nothing until you resume.' : '',
    line('Earned', e.earned, e.unit),
    line('Spent', e.spent, e.unit),
    line('Served for you', e.servedForYou, e.unit),
    ''
  ]
  const table = (title: string, items: Array<{ key: string; earned: Totals; spent: Totals }>): void => {
    if (items.length === 0) return
    rows.push(`${title.padEnd(24)} ${'earned'.padStart(18)} ${'spent'.padStart(18)}  jobs (earned/spent)`)
    for (const item of items) {
      rows.push(
        `${item.key.slice(0, 24).padEnd(24)} ${amountText(item.earned.amount, '').padStart(18)} ${amountText(item.spent.amount, '').padStart(18)}  ${item.earned.jobs}/${item.spent.jobs}`
      )
    }
    rows.push('')
  }
  table(
    'By model',
    e.byModel.map((m) => ({ key: m.model, ...m }))
  )
  table(
    'By peer',
    e.byPeer.map((p) => ({ key: short(p.peerId), ...p }))
  )
  table(
    'By day (UTC)',
    e.byDay.map((d) => ({ key: d.day, ...d }))
  )
  rows.push(
    `Ledger: ${e.ledger.entries} entries, head #${e.ledger.headSeq} ${e.ledger.headHash.slice(0, 16)}   (check it: meshwork earnings --verify)`
  )
  return rows.filter((r, i) => r !== '' || i > 0).join('\n')
}

export function formatVerify(report: VerifyReport, path: string): string {
  const head = report.ok
    ? `OK: ${path}\n${report.entries} entries, ${report.receipts} receipts, ${report.signaturesChecked} signatures checked; the chain and its signed head are intact.`
    : `FAILED: ${path}\n${report.problems.length} problem(s) in ${report.entries} entries:`
  return [head, ...report.problems.map((p) => `  entry ${p.seq}: ${p.problem}`)].join('\n')
}

const CSV_COLUMNS = [
  'seq',
  'role',
  'receipt_id',
  'job_id',
  'ended_at',
  'model',
  'sha256',
  'provider',
  'consumer',
  'prompt_tokens',
  'completion_tokens',
  'price_prompt',
  'price_completion',
  'amount',
  'unit',
  'complete',
  'issuer',
  'provider_sig_valid',
  'consumer_sig_valid'
]

function csvCell(value: unknown): string {
  const text = String(value)
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** Every receipt, one row each (its newest form), oldest first: for a spreadsheet or a settlement. */
export function formatCsv(receipts: RecentReceipt[]): string {
  const rows = receipts.map(({ seq, role, signed, providerSigValid, consumerSigValid }) => {
    const r = signed.receipt
    return [
      seq,
      role,
      r.id,
      r.jobId,
      new Date(r.endedAt).toISOString(),
      r.model,
      r.sha256,
      r.provider,
      r.consumer,
      r.promptTokens,
      r.completionTokens,
      r.price.prompt,
      r.price.completion,
      r.amountNano / NANO,
      r.unit,
      r.complete,
      r.issuer,
      providerSigValid,
      consumerSigValid
    ]
      .map(csvCell)
      .join(',')
  })
  return [CSV_COLUMNS.join(','), ...rows].join('\n')
}
