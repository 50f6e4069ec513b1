import type { StatusResponse } from '../../../shared/api'
import { describeReachability } from '../../../shared/reachability-text'
import { EarningToggle } from '../components/EarningToggle'
import { Card, Field, Notice, Stat } from '../components/ui'
import { EARNING_LABEL, earningState } from '../earning'
import { clock, duration, num, shortId } from '../format'
import { useApp } from '../hooks'
import { ActivityCharts } from './overview/ActivityCharts'
import { BenchmarkCard, GpuCard } from './overview/MachineCards'

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
    case 'router-only':
      return "This node serves no model (it was started with --no-serve): it routes your apps' requests to providers in the mesh and earns nothing. Start it without --no-serve to serve with this machine."
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
