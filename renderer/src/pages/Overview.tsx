import type { StatusResponse } from '../../../shared/api'
import { describeReachability } from '../../../shared/reachability-text'
import { BarChart } from '../components/BarChart'
import { EarningToggle } from '../components/EarningToggle'
import { Badge, Card, Field, Notice, Stat } from '../components/ui'
import { EARNING_LABEL, earningState } from '../earning'
import { clock, duration, gb, ms, num, shortId } from '../format'
import { useApp, useNow } from '../hooks'
import type { JobRow, RequestRow } from '../store/activity-slice'

const BUCKET_MS = 15_000
const BUCKETS = 20

export function Overview() {
  const status = useApp((s) => s.status)
  const statusError = useApp((s) => s.statusError)
  const connected = useApp((s) => s.connected)
  const peers = useApp((s) => s.peers)
  const statusAt = useApp((s) => s.statusAt)
  const state = earningState(status, statusError, connected)

  if (!status) {
    return state === 'offline' ? (
      <Unreachable message={statusError?.message} />
    ) : (
      <Notice tone="info" title="Connecting to your Meshwork node…" />
    )
  }
  const online = peers.filter((p) => p.alive)
  return (
    <div className="page overview">
      <section className={`hero hero-${state}`} data-testid="hero">
        <div>
          <div className="hero-state" data-testid="earning-state">
            {EARNING_LABEL[state]}
          </div>
          <p className="hero-text">{heroText(state, status)}</p>
          {state === 'not-serving' ? (
            <p className="hero-text">
              <a href="#/runtime">Open Runtime &amp; Models</a> for details.
            </p>
          ) : null}
          {state === 'offline' && statusAt !== undefined ? (
            <p className="hero-text muted">Showing what the node last reported, at {clock(statusAt)}.</p>
          ) : null}
        </div>
        <EarningToggle />
      </section>
      <div className="stats-row">
        <Stat label="jobs served for the mesh" value={num(status.stats.served)} />
        <Stat label="requests routed for you" value={num(status.stats.routed)} />
        <Stat
          label="failovers survived"
          value={num(status.stats.failovers)}
          hint="Requests that moved to another provider mid-way and still completed"
        />
        <Stat label="peers online" value={num(online.length)} />
        <Stat label="uptime" value={duration(status.uptimeSeconds)} />
      </div>
      <div className="grid">
        <GpuCard status={status} />
        <BenchmarkCard status={status} />
        <ActivityCharts />
        <Card title="This node">
          <dl className="fields">
            <Field label="Peer ID" mono>
              <span title={status.peerId}>{shortId(status.peerId)}</span>
            </Field>
            <Field label="Runtime">
              {status.runtime.kind} · {status.runtime.state}
            </Field>
            <Field label="Mesh connections">
              {status.connections === 0 ? 'none: no peer reachable yet' : num(status.connections)}
            </Field>
            <Field label="Reached">
              {describeReachability(status.reachability).summary}
              {describeReachability(status.reachability).advice ? (
                <small> — {describeReachability(status.reachability).advice}</small>
              ) : null}
            </Field>
            <Field label="Models">{status.models.map((m) => m.name).join(', ') || 'none yet'}</Field>
            <Field label="API for your apps" mono>
              {status.apiUrl}/v1
            </Field>
            <Field label="Version">{status.version}</Field>
          </dl>
        </Card>
      </div>
    </div>
  )
}

function heroText(state: ReturnType<typeof earningState>, status: StatusResponse): string {
  switch (state) {
    case 'earning':
      return `Your GPU is available to the Meshwork network and takes jobs. It has served ${num(status.stats.served)} ${status.stats.served === 1 ? 'job' : 'jobs'} so far.`
    case 'paused':
      return 'Other peers see you as paused and send you no new jobs. Your GPU is free for games and other work.'
    case 'not-serving':
      return `${status.runtime.message ?? `The inference runtime is ${status.runtime.state}.`} Until that is fixed this node cannot take jobs.`
    default:
      return ''
  }
}

export function Unreachable(props: { message?: string }) {
  return (
    <Notice tone="bad" title="Cannot reach your Meshwork node" testId="unreachable">
      <p>
        {props.message ?? 'The node does not answer.'} Is it running? Start it with <code>meshwork start</code> (or open
        the Meshwork app).
      </p>
      <p>This page reconnects by itself as soon as the node is back.</p>
    </Notice>
  )
}

function GpuCard({ status }: { status: StatusResponse }) {
  const { gpus, cpu, memoryMB, os, docker } = status.hardware
  return (
    <Card title="Hardware" testId="gpu-card">
      {gpus.length === 0 ? (
        <Notice tone="warn" title="No GPU detected" testId="no-gpu">
          This node runs models on the CPU, which is much slower. If this machine has a GPU, check its driver (
          <code>nvidia-smi</code> or <code>rocm-smi</code> must work).
        </Notice>
      ) : (
        gpus.map((gpu, i) => (
          <div className="gpu" key={i}>
            <div className="gpu-name">
              {gpu.vendor} {gpu.model}
            </div>
            <div className="gpu-specs">
              <span>{gb(gpu.vramMB)} VRAM</span>
              {gpu.vramFreeMB !== undefined ? <span>{gb(gpu.vramFreeMB)} free</span> : null}
              {gpu.driver ? <span>driver {gpu.driver}</span> : null}
              {gpu.cudaVersion ? <span>CUDA {gpu.cudaVersion}</span> : null}
              {gpu.rocmVersion ? <span>ROCm {gpu.rocmVersion}</span> : null}
              {gpu.temperatureC !== undefined ? <span>{num(gpu.temperatureC)} °C</span> : null}
              {gpu.utilizationPercent !== undefined ? <span>{num(gpu.utilizationPercent)}% busy</span> : null}
            </div>
          </div>
        ))
      )}
      <dl className="fields compact">
        <Field label="CPU">
          {cpu.brand} · {cpu.cores} threads
        </Field>
        <Field label="Memory">{gb(memoryMB)}</Field>
        <Field label="System">{os}</Field>
        <Field label="Docker">
          {docker === undefined ? (
            'not checked'
          ) : docker.available ? (
            <>
              <Badge tone="good">running</Badge> {docker.version ?? ''} {docker.gpuRuntime ? '· GPU runtime' : ''}
            </>
          ) : (
            <Badge tone="warn" title="Install Docker and start it; until then models run as a plain process">
              not available
            </Badge>
          )}
        </Field>
      </dl>
    </Card>
  )
}

function BenchmarkCard({ status }: { status: StatusResponse }) {
  const entries = Object.entries(status.benchmark)
  return (
    <Card
      title="Measured speed"
      testId="benchmark-card"
      aside={<span className="muted small">benchmarked on this machine</span>}
    >
      {entries.length === 0 ? (
        <Notice tone="muted" title="Not benchmarked yet">
          The node measures each model once its runtime is ready; results appear here and in your advert.
        </Notice>
      ) : (
        entries.map(([model, b]) => (
          <div key={model} className="bench">
            <div className="bench-model">{model}</div>
            <div className="bench-stats">
              <Stat label="tokens/s generated" value={num(b.decodeTokensPerSecond, 1)} />
              <Stat label="tokens/s prompt" value={num(b.prefillTokensPerSecond, 0)} />
              <Stat label="first token" value={ms(b.ttftMs)} />
              <Stat
                label="GFLOPS"
                value={b.gflops > 0 ? num(b.gflops, 1) : '—'}
                hint={b.gflops > 0 ? undefined : 'not measured by this runtime'}
              />
            </div>
          </div>
        ))
      )}
    </Card>
  )
}

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

function ActivityCharts() {
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
