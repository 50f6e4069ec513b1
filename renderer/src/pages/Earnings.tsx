import { Card, Notice, Stat } from '../components/ui'
import { num } from '../format'
import { useApp } from '../hooks'

/** Honest placeholder: the node counts work, but it does not settle payments yet. */
export function Earnings() {
  const status = useApp((s) => s.status)
  return (
    <div className="page">
      <Card title="Earnings">
        <Notice tone="info" title="Payouts arrive with a later release" testId="earnings-placeholder">
          This version of Meshwork does not pay or charge anyone yet. Below is the work this node has done since it started.
        </Notice>
        {status ? (
          <div className="stats-row">
            <Stat label="jobs your GPU served for the mesh" value={num(status.stats.served)} />
            <Stat label="requests you sent" value={num(status.stats.routed)} />
          </div>
        ) : null}
      </Card>
    </div>
  )
}
