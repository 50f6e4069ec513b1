import type { StatusResponse } from '../../shared/api'
import type { PriceUpdate } from '../../shared/price'
import type { Config } from './config'
import type { NodeControl } from './control'
import type { EarningsService } from './earnings/earnings-service'
import { updatePrices } from './earnings/price-settings'
import { settingsView } from './api/settings-view'
import type { NodeEvents } from './events'
import { peerViews, type PeerSources } from './peer-views'
import type { PauseControl } from './pause-control'

export interface NodeControlParts {
  config: Config
  events: NodeEvents
  /** The status as it is now, and once the hardware has been detected (a router detects it lazily). */
  status(): StatusResponse
  detectedStatus(): Promise<StatusResponse>
  peers: PeerSources
  pause: Pick<PauseControl, 'set'>
  earnings: Pick<EarningsService, 'summary' | 'verify'>
  /** Re-signs and spreads the advert (a price change is in it at once). */
  refreshAdvert(): Promise<void>
}

/** The running node as the HTTP API, Electron IPC and tray see it (control.ts). */
export function createNodeControl(parts: NodeControlParts): NodeControl {
  const { config, status, detectedStatus, pause, earnings } = parts
  return {
    status: detectedStatus,
    peers: async (opts) => peerViews(parts.peers, opts),
    pause: async () => (await pause.set(true), detectedStatus()),
    resume: async () => (await pause.set(false), detectedStatus()),
    settings: async () => settingsView(config, status()),
    earnings: async (query) => earnings.summary(query),
    verifyEarnings: async () => earnings.verify(),
    setPrices: async (update: PriceUpdate) => {
      await updatePrices(config, update)
      await parts.refreshAdvert()
      return settingsView(config, status())
    },
    events: parts.events
  }
}
