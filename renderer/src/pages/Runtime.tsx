import { useEffect, useRef } from 'react'
import type { RuntimeStatus } from '../../../shared/api'
import { Badge, Card, Field, Notice, ProgressBar, type Tone } from '../components/ui'
import { params } from '../format'
import { useApp } from '../hooks'

const STATE_TONE: Record<RuntimeStatus['state'], Tone> = {
  ready: 'good',
  starting: 'info',
  building: 'info',
  paused: 'warn',
  stopped: 'muted',
  failed: 'bad',
  unavailable: 'bad'
}

const RUNTIME_NAME: Record<RuntimeStatus['kind'], string> = {
  docker: 'Docker container',
  process: 'Local process (no Docker)',
  external: 'Your own server',
  none: 'None'
}

export function Runtime() {
  const status = useApp((s) => s.status)
  const progress = useApp((s) => s.progress)
  const logs = useApp((s) => s.logs)
  const logRef = useRef<HTMLPreElement>(null)
  useEffect(() => {
    if (logRef.current) logRef.current.scrollTop = logRef.current.scrollHeight
  }, [logs])
  if (!status) return <Notice tone="info" title="Waiting for the node…" />
  const rt = status.runtime
  const tasks = Object.entries(progress).sort((a, b) => b[1].time - a[1].time)
  return (
    <div className="page">
      <div className="grid">
        <Card
          title="Inference runtime"
          testId="runtime-card"
          aside={<Badge tone={STATE_TONE[rt.state]}>{rt.state}</Badge>}
        >
          {rt.state === 'unavailable' || rt.kind === 'none' ? (
            <Notice tone="bad" title="No runtime can run models here" testId="no-runtime">
              {rt.message ?? 'Docker is not available.'} Install and start Docker (or run with{' '}
              <code>--runtime process</code>) to serve jobs.
            </Notice>
          ) : null}
          {rt.state === 'failed' ? (
            <Notice tone="bad" title="The runtime failed">
              {rt.message ?? 'See the log below.'}
            </Notice>
          ) : null}
          <dl className="fields">
            <Field label="Kind">{RUNTIME_NAME[rt.kind]}</Field>
            {rt.kind === 'docker' ? (
              <>
                <Field label="Image" mono>
                  {rt.image ?? '—'}
                </Field>
                <Field label="Container" mono>
                  {rt.containerId ? rt.containerId.slice(0, 12) : 'not running'}
                </Field>
              </>
            ) : null}
            <Field label="Endpoint" mono>
              {rt.endpoint ?? '—'}
            </Field>
            {rt.message && rt.state !== 'failed' && rt.state !== 'unavailable' ? (
              <Field label="Note">{rt.message}</Field>
            ) : null}
          </dl>
        </Card>
        <Card title="Progress" testId="progress-card">
          {tasks.length === 0 ? (
            <Notice tone="muted" title="Nothing in progress">
              Image builds, model downloads and benchmarks show their progress here.
            </Notice>
          ) : (
            tasks.map(([key, p]) => (
              <div className="task" key={key}>
                <div className="task-head">
                  <span>
                    {p.source === 'benchmark' ? 'Benchmark: ' : ''}
                    {p.task.replace(/^(benchmark|model|image):/, '')}
                  </span>
                  <span className="muted">
                    {p.fraction === undefined
                      ? 'working…'
                      : p.fraction >= 1
                        ? 'done'
                        : `${Math.round(p.fraction * 100)}%`}
                  </span>
                </div>
                <ProgressBar fraction={p.fraction} label={p.task} done={p.fraction !== undefined && p.fraction >= 1} />
                {p.message ? <div className="muted small">{p.message}</div> : null}
              </div>
            ))
          )}
        </Card>
      </div>
      <Card title={`Models served (${status.models.length})`}>
        {status.models.length === 0 ? (
          <Notice tone="muted" title="No models loaded yet">
            Models appear once the runtime is ready.
          </Notice>
        ) : (
          <table className="table" data-testid="models-table">
            <thead>
              <tr>
                <th>Name</th>
                <th className="num">Parameters</th>
                <th className="num">Context</th>
                <th>GGUF sha256</th>
              </tr>
            </thead>
            <tbody>
              {status.models.map((m) => (
                <tr key={m.name}>
                  <td>{m.name}</td>
                  <td className="num">{params(m.params)}</td>
                  <td className="num">{m.contextLength?.toLocaleString('en-US') ?? '—'}</td>
                  <td className="mono sha" title={m.sha256}>
                    {m.sha256}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      <Card title="Runtime log" aside={<span className="muted small">latest {logs.length} lines</span>}>
        {logs.length === 0 ? (
          <Notice tone="muted" title="No log lines yet" />
        ) : (
          <pre className="log" ref={logRef} data-testid="runtime-log">
            {logs.map((l, i) => (
              <div key={i} className={/\b(ERROR|WARN|error|warning|failed)\b/.test(l.line) ? 'log-err' : undefined}>
                {l.line}
              </div>
            ))}
          </pre>
        )}
      </Card>
    </div>
  )
}
