import type { PeersResponse, StatusResponse } from '../../shared/api'
import type { EarningsQuery, EarningsResponse, VerifyReport } from '../../shared/earnings'
import type { SettingsView } from '../../shared/ipc'
import type { PriceUpdate } from '../../shared/price'
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
  /** Read-only settings for the dashboard; `settingsView(config, status)` in api/settings-view.ts builds it. */
  settings?(): Promise<SettingsView>
  /** Receipts and totals from the ledger (earnings/). */
  earnings?(query?: EarningsQuery): Promise<EarningsResponse>
  /** Checks the whole ledger chain and every signature. */
  verifyEarnings?(): Promise<VerifyReport>
  /** Changes this node's prices: saved to config.json, in the advert at once. */
  setPrices?(update: PriceUpdate): Promise<SettingsView>
  readonly events: NodeEvents
}
