import { BarChart } from '../../components/BarChart'
import { Card } from '../../components/ui'
import { num } from '../../format'
import { useApp, useNow } from '../../hooks'
import type { JobRow, RequestRow } from '../../store/activity-slice'

const BUCKET_MS = 15_000
const BUCKETS = 20

function bucketise<T>(rows: T[], time: (r: T) => number, value: (r: T) => number, now: number): number[] {
  const out = new Array<number>(BUCKETS).fill(0)
  const start = now - BUCKETS * BUCKET_MS
  for (const r of rows) {
    const t = time(r)
    if (t < start || t > now) continue
    out[Math.min(BUCKETS - 1, Math.floor((t - start) / BUCKET_MS))] += value(r)
  }
  return out
}

export function ActivityCharts() {
  const jobs = useApp((s) => s.jobs)
  const requests = useApp((s) => s.requests)
  useNow(5000) // slides the window along even when no event arrives
  const now = Date.now()
  const tokens = bucketise<JobRow>(
    jobs,
    (j) => j.time,
    (j) => j.completionTokens,
    now
  )
  const requestCounts = bucketise<RequestRow>(
    requests,
    (r) => r.startedAt,
    () => 1,
    now
  )
  const jobCounts = bucketise<JobRow>(
    jobs,
    (j) => j.time,
    () => 1,
    now
  )
  const windowSeconds = (BUCKETS * BUCKET_MS) / 1000
  const average = tokens.reduce((a, b) => a + b, 0) / windowSeconds
  return (
    <Card title="Last 5 minutes" testId="charts">
      <div className="charts">
        <div>
          <h3>Tokens your GPU generated · avg {average > 0 && average < 0.1 ? 'under 0.1' : num(average, 1)} tok/s</h3>
          <BarChart
            values={tokens}
            label="tokens generated per 15 seconds"
            unit={['token', 'tokens']}
            per="15 s"
            color="var(--accent)"
          />
        </div>
        <div>
          <h3>Jobs served</h3>
          <BarChart values={jobCounts} label="jobs served" unit={['job', 'jobs']} per="15 s" color="var(--good)" />
        </div>
        <div>
          <h3>Requests you sent</h3>
          <BarChart
            values={requestCounts}
            label="requests routed"
            unit={['request', 'requests']}
            per="15 s"
            color="var(--info)"
          />
        </div>
      </div>
    </Card>
  )
}
