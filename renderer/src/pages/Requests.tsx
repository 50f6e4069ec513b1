import { Badge, Card, Notice } from '../components/ui'
import { clock, ms, num, shortId } from '../format'
import { useApp } from '../hooks'

export function Requests() {
  const requests = useApp((s) => s.requests)
  const jobs = useApp((s) => s.jobs)
  return (
    <div className="page">
      <Card
        title="Requests you sent through this node"
        aside={<span className="muted small">live · OpenAI API at /v1</span>}
      >
        {requests.length === 0 ? (
          <Notice tone="muted" title="No requests yet">
            Point any OpenAI client at this node's API (see Overview) and each request appears here with the peers that
            served it.
          </Notice>
        ) : (
          <div className="table-wrap">
            <table className="table" data-testid="requests-table">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Model</th>
                  <th>Route</th>
                  <th className="num">Failovers</th>
                  <th className="num">Latency</th>
                  <th className="num">Tokens</th>
                  <th>Result</th>
                </tr>
              </thead>
              <tbody>
                {requests.map((r) => (
                  <tr key={r.id}>
                    <td>{clock(r.startedAt)}</td>
                    <td>
                      {r.model ?? '—'} {r.stream ? <Badge tone="muted">stream</Badge> : null}
                    </td>
                    <td className="mono">{r.providers.length === 0 ? '—' : r.providers.map(shortId).join(' → ')}</td>
                    <td className="num" title={r.failovers.map((f) => `${shortId(f.from)}: ${f.reason}`).join('\n')}>
                      {r.finished?.failovers ?? r.failovers.length}
                    </td>
                    <td className="num">{r.finished ? ms(r.finished.latencyMs) : '…'}</td>
                    <td className="num">
                      {r.finished?.completionTokens === undefined ? '—' : num(r.finished.completionTokens)}
                    </td>
                    <td>
                      {!r.finished ? (
                        <Badge tone="info">running</Badge>
                      ) : r.finished.ok ? (
                        <Badge tone="good">ok</Badge>
                      ) : (
                        <Badge tone="bad" title={r.finished.error}>
                          failed
                        </Badge>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      <Card title="Jobs your GPU served">
        {jobs.length === 0 ? (
          <Notice tone="muted" title="No jobs served yet">
            Jobs other peers send to your GPU appear here.
          </Notice>
        ) : (
          <div className="table-wrap">
            <table className="table" data-testid="jobs-table">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Model</th>
                  <th>For peer</th>
                  <th className="num">Prompt tokens</th>
                  <th className="num">Generated tokens</th>
                  <th>Result</th>
                </tr>
              </thead>
              <tbody>
                {jobs.map((j) => (
                  <tr key={j.id}>
                    <td>{clock(j.time)}</td>
                    <td>{j.model}</td>
                    <td className="mono">{shortId(j.consumer)}</td>
                    <td className="num">{num(j.promptTokens)}</td>
                    <td className="num">{num(j.completionTokens)}</td>
                    <td>{j.ok ? <Badge tone="good">ok</Badge> : <Badge tone="bad">failed</Badge>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </div>
  )
}
