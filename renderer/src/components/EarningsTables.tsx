import { useState } from 'react'
import type { RecentReceipt, Totals } from '../../../shared/earnings'
import { clock, num, shortId } from '../format'
import { Badge } from './ui'

export function credits(amount: number, unit: string): string {
  const digits = amount === 0 ? 0 : amount < 0.01 ? 6 : amount < 10 ? 4 : 2
  return `${num(amount, digits)} ${unit}`
}

const tokens = (t: Totals): string => num(t.promptTokens + t.completionTokens)

/** One row per model or peer: what was earned and spent with it. */
export function SplitTable(props: {
  rows: Array<{ key: string; title?: string; earned: Totals; spent: Totals }>
  label: string
  unit: string
  testId: string
}) {
  if (props.rows.length === 0) return <p className="muted">No receipts yet.</p>
  return (
    <div className="table-wrap">
      <table className="table" data-testid={props.testId}>
        <thead>
          <tr>
            <th>{props.label}</th>
            <th className="num">jobs earned</th>
            <th className="num">tokens</th>
            <th className="num">earned</th>
            <th className="num">jobs spent</th>
            <th className="num">tokens</th>
            <th className="num">spent</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr key={row.key}>
              <td className="mono" title={row.title ?? row.key}>
                {row.key}
              </td>
              <td className="num">{num(row.earned.jobs)}</td>
              <td className="num">{tokens(row.earned)}</td>
              <td className="num">{credits(row.earned.amount, props.unit)}</td>
              <td className="num">{num(row.spent.jobs)}</td>
              <td className="num">{tokens(row.spent)}</td>
              <td className="num">{credits(row.spent.amount, props.unit)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

const ROLE: Record<RecentReceipt['role'], string> = { earned: 'earned', spent: 'spent', self: 'served for you' }

function Signature(props: { present: boolean; valid: boolean; who: string }) {
  if (!props.present) return <Badge tone="muted">{props.who}: not yet</Badge>
  return props.valid ? (
    <Badge tone="good" title={`The ${props.who}'s Ed25519 signature verifies`}>
      {props.who} ✓
    </Badge>
  ) : (
    <Badge tone="bad">{props.who}: invalid</Badge>
  )
}

/** The latest receipts, each with its signatures; a row opens to the signed receipt itself. */
export function ReceiptsTable(props: { receipts: RecentReceipt[]; unit: string }) {
  const [open, setOpen] = useState<number | undefined>(undefined)
  if (props.receipts.length === 0) return <p className="muted">No receipts yet: they appear as jobs finish.</p>
  return (
    <div className="table-wrap">
      <table className="table" data-testid="receipts-table">
        <thead>
          <tr>
            <th>#</th>
            <th>time</th>
            <th>kind</th>
            <th>model</th>
            <th>with</th>
            <th className="num">tokens</th>
            <th className="num">amount</th>
            <th>signatures</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {props.receipts.flatMap((r) => {
            const { receipt } = r.signed
            const rows = [
              <tr key={r.seq} className={r.role === 'self' ? 'dim' : undefined}>
                <td className="num">{r.seq}</td>
                <td className="nowrap">{clock(receipt.endedAt)}</td>
                <td>
                  {ROLE[r.role]}
                  {receipt.complete ? null : (
                    <span
                      className="muted"
                      title="Cut short (failover or cancellation): paid for the tokens that arrived"
                    >
                      {' '}
                      · cut short
                    </span>
                  )}
                </td>
                <td>{receipt.model}</td>
                <td className="mono" title={r.counterparty}>
                  {r.role === 'self' ? '—' : shortId(r.counterparty)}
                </td>
                <td className="num">
                  {num(receipt.promptTokens)} + {num(receipt.completionTokens)}
                </td>
                <td className="num">{credits(receipt.amountNano / 1e9, props.unit)}</td>
                <td className="nowrap">
                  <Signature present={r.signed.providerSig !== undefined} valid={r.providerSigValid} who="provider" />{' '}
                  <Signature present={r.signed.consumerSig !== undefined} valid={r.consumerSigValid} who="consumer" />
                </td>
                <td>
                  <button type="button" className="link" onClick={() => setOpen(open === r.seq ? undefined : r.seq)}>
                    {open === r.seq ? 'hide' : 'receipt'}
                  </button>
                </td>
              </tr>
            ]
            if (open === r.seq) {
              rows.push(
                <tr key={`${r.seq}-body`}>
                  <td colSpan={9}>
                    <pre className="receipt-json" data-testid="receipt-json">
                      {JSON.stringify(r.signed, null, 2)}
                    </pre>
                  </td>
                </tr>
              )
            }
            return rows
          })}
        </tbody>
      </table>
    </div>
  )
}
