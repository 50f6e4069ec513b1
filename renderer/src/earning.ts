import type { StatusResponse } from '../../shared/api'
import type { IpcError } from '../../shared/ipc'

export type EarningState = 'earning' | 'paused' | 'not-serving' | 'offline' | 'connecting'

/** One word for what the node is doing, shared by the header, the Overview hero and the toggle. */
export function earningState(
  status: StatusResponse | undefined,
  error: IpcError | undefined,
  connected: boolean | undefined
): EarningState {
  if (error?.code === 'node_unreachable' || connected === false) return 'offline'
  if (!status) return error ? 'offline' : 'connecting'
  if (status.paused) return 'paused'
  if (!status.serving || status.runtime.state === 'failed' || status.runtime.state === 'unavailable')
    return 'not-serving'
  return 'earning'
}

export const EARNING_LABEL: Record<EarningState, string> = {
  earning: 'Earning',
  paused: 'Paused',
  'not-serving': 'Not serving',
  offline: 'Node unreachable',
  connecting: 'Connecting…'
}
