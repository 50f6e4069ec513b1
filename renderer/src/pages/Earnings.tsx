import { useEffect } from 'react'
import type { EarningsResponse } from '../../../shared/earnings'
import { BarChart } from '../components/BarChart'
import { ReceiptsTable, SplitTable, credits } from '../components/EarningsTables'
import { Card, Notice, Stat } from '../components/ui'
import { num, shortId } from '../format'
import { useApp } from '../hooks'

const DAYS = 14

const amount = (v: number): string => credits(v, '').trim()

type Side = 'earned' | 'spent'
const SIDES: Record<Side, { title: string; color: string }> = {
  earned: { title: 'Earned', color: 'var(--good)' },
  spent: { title: 'Spent', color: 'var(--info)' }
}

/** The last DAYS days (UTC), oldest first, with zero for days without receipts. */
function perDay(e: EarningsResponse, side: Side, pick: 'amount' | 'jobs'): number[] {
  const byDay = new Map(e.byDay.map((d) => [d.day, d[side][pick]]))
  return Array.from(
    { length: DAYS },
    (_, i) => byDay.get(new Date(Date.now() - (DAYS - 1 - i) * 86_400_000).toISOString().slice(0, 10)) ?? 0
  )
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0)

/** What was earned or spent in all: jobs, amount and tokens. */
function SideTotal({ earnings: e, side }: { earnings: EarningsResponse; side: Side }) {
  const t = e[side]
  return (
    <Stat
      label={`${side} · ${num(t.jobs)} jobs`}
      value={credits(t.amount, e.unit)}
      hint={`${num(t.promptTokens)} prompt + ${num(t.completionTokens)} completion tokens`}
    />
  )
}

/**
 * What was earned or spent on each of the last DAYS days. Jobs at a price of 0 move no amount, so
 * when every job in the window was free the chart counts jobs instead of showing an empty window.
 */
function SidePerDay({ earnings: e, side }: { earnings: EarningsResponse; side: Side }) {
  const { title, color } = SIDES[side]
  const amounts = perDay(e, side, 'amount')
  const jobs = perDay(e, side, 'jobs')
  const free = sum(amounts) === 0 && sum(jobs) > 0
  return (
    <div data-testid={`earnings-${side}-per-day`}>
      <h3>
        {title}
        {free ? <span className="muted"> · free jobs (price 0)</span> : null}
      </h3>
      {free ? (
        <BarChart values={jobs} label={`${title} jobs per day`} unit={['job', 'jobs']} per="day" color={color} />
      ) : (
        <BarChart
          values={amounts}
          label={`${title} per day`}
          unit={[e.unit, e.unit]}
          per="day"
          color={color}
          format={amount}
        />
      )}
    </div>
  )
}

export function Earnings() {
  const earnings = useApp((s) => s.earnings)
  const error = useApp((s) => s.earningsError)
  const refresh = useApp((s) => s.refreshEarnings)
  const paused = useApp((s) => s.status?.paused)
  useEffect(() => void refresh(), [refresh])

  if (!earnings) {
    return error ? (
      <Notice tone="warn" title="The node did not report its earnings">
        {error.message}
      </Notice>
    ) : (
      <Notice tone="info" title="Loading earnings…" />
    )
  }
  const e = earnings
  return (
    <div className="page">
      {(paused ?? e.paused) ? (
        <Notice tone="warn" title="Paused: nothing is being earned" testId="earnings-paused">
          While paused this node takes no jobs, so it earns nothing. Resume earning to take jobs again; what you earned
          stays in the ledger.
        </Notice>
      ) : null}
      <div className="stats-row" data-testid="earnings-totals">
        <SideTotal earnings={e} side="earned" />
        <SideTotal earnings={e} side="spent" />
        <Stat label="tokens your GPU served the mesh" value={num(e.earned.promptTokens + e.earned.completionTokens)} />
        <Stat
          label={`served for you · ${num(e.servedForYou.jobs)} jobs`}
          value={num(e.servedForYou.completionTokens)}
          hint="Your own requests answered by this node's runtime: neither earned nor spent"
        />
      </div>
      <div className="grid">
        <Card title="By day" className="wide" testId="earnings-by-day">
          <div className="charts-pair">
            <SidePerDay earnings={e} side="earned" />
            <SidePerDay earnings={e} side="spent" />
          </div>
          <p className="muted">The last {DAYS} days (UTC), today on the right.</p>
        </Card>
        <Card title="By model" className="wide">
          <SplitTable
            rows={e.byModel.map((m) => ({ key: m.model, ...m }))}
            label="model"
            unit={e.unit}
            testId="earnings-by-model"
          />
        </Card>
        <Card title="By peer" className="wide">
          <SplitTable
            rows={e.byPeer.map((p) => ({ key: shortId(p.peerId), title: p.peerId, ...p }))}
            label="peer"
            unit={e.unit}
            testId="earnings-by-peer"
          />
        </Card>
      </div>
      <Card title="Latest receipts" aside={<VerifyButton />} testId="earnings-receipts">
        <ReceiptsTable receipts={e.recent} unit={e.unit} />
        <p className="muted">
          Every receipt is signed by the provider and countersigned by the consumer; both keep both signatures in a
          hash-chained ledger ({num(e.ledger.entries)} entries, head #{e.ledger.headSeq}). No payment moves yet: these
          are the records a settlement will use.
        </p>
      </Card>
    </div>
  )
}

function VerifyButton() {
  const verifying = useApp((s) => s.verifying)
  const report = useApp((s) => s.verify)
  const error = useApp((s) => s.verifyError)
  const verify = useApp((s) => s.verifyLedger)
  return (
    <div className="verify" data-testid="ledger-verify">
      {report ? (
        <span className={report.ok ? 'good' : 'bad'}>
          {report.ok
            ? `✓ ${num(report.entries)} entries, ${num(report.signaturesChecked)} signatures verified`
            : `✗ ${report.problems.length} problem(s): ${report.problems[0]?.problem}`}
        </span>
      ) : null}
      {error ? <span className="bad">{error.message}</span> : null}
      <button type="button" className="btn btn-primary" disabled={verifying} onClick={() => void verify()}>
        {verifying ? 'Verifying…' : 'Verify ledger'}
      </button>
    </div>
  )
}
