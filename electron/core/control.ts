import type { PeersResponse, StatusResponse } from '../../shared/api'
import type { NodeEvents } from './events'

/**
 * What the outside (HTTP dashboard API, Electron IPC, tray) may ask of a running node.
 * One object, served over several transports.
 */
export interface NodeControl {
  status(): Promise<StatusResponse>
  peers(options?: { all?: boolean }): Promise<PeersResponse>
  pause(): Promise<StatusResponse>
  resume(): Promise<StatusResponse>
  readonly events: NodeEvents
}
