import type { StatusResponse } from '../../shared/api'
import type { IpcError } from '../../shared/ipc'

export type EarningState = 'earning' | 'paused' | 'not-serving' | 'router-only' | 'offline' | 'connecting'

/** One word for what the node is doing, shared by the header, the Overview hero and the toggle. */
export function earningState(
  status: StatusResponse | undefined,
  error: IpcError | undefined,
  connected: boolean | undefined
): EarningState {
  if (error?.code === 'node_unreachable' || connected === false) return 'offline'
  if (!status) return error ? 'offline' : 'connecting'
  // started with --no-serve: a deliberate choice, not a fault, and nothing to pause
  if (!status.serving) return 'router-only'
  if (status.paused) return 'paused'
  if (status.runtime.state === 'failed' || status.runtime.state === 'unavailable') return 'not-serving'
  return 'earning'
}

export const EARNING_LABEL: Record<EarningState, string> = {
  earning: 'Earning',
  paused: 'Paused',
  'not-serving': 'Not serving',
  'router-only': 'Router only',
  offline: 'Node unreachable',
  connecting: 'Connecting…'
}
