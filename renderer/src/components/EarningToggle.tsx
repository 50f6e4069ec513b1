import { earningState } from '../earning'
import { useApp } from '../hooks'

/** The one control a GPU owner needs: stop taking jobs (e.g. to play a game) and start again. */
export function EarningToggle(props: { compact?: boolean }) {
  const status = useApp((s) => s.status)
  const statusError = useApp((s) => s.statusError)
  const connected = useApp((s) => s.connected)
  const toggling = useApp((s) => s.toggling)
  const actionError = useApp((s) => s.actionError)
  const setEarning = useApp((s) => s.setEarning)
  const state = earningState(status, statusError, connected)
  if (!status || state === 'offline' || state === 'router-only') return null
  const paused = status.paused
  return (
    <div className="toggle-wrap">
      <button
        type="button"
        className={paused ? 'btn btn-primary' : 'btn btn-warn'}
        disabled={toggling}
        onClick={() => void setEarning(paused)}
        data-testid="earning-toggle"
      >
        {toggling ? (paused ? 'Resuming…' : 'Pausing…') : paused ? 'Resume earning' : 'Pause earning'}
      </button>
      {!props.compact && actionError ? (
        <div className="toggle-error" role="alert">
          {actionError.message}
        </div>
      ) : null}
      {!props.compact && !actionError ? (
        <div className="toggle-hint">
          {toggling && paused
            ? 'Starting the model runtime again…'
            : paused
              ? 'Peers will route jobs to you again within seconds.'
              : 'Running jobs finish; new ones go to other peers.'}
        </div>
      ) : null}
    </div>
  )
}
