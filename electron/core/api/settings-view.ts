import type { StatusResponse } from '../../../shared/api'
import type { SettingsView } from '../../../shared/ipc'
import type { Config } from '../config'

/** The read-only settings the dashboard shows. Never includes the API key itself. */
export function settingsView(config: Config, status?: Pick<StatusResponse, 'apiUrl' | 'multiaddrs'>): SettingsView {
  const apiUrl = status?.apiUrl ?? `http://${config.apiHost}:${config.apiPort}`
  return {
    dataDir: config.dataDir,
    apiUrl,
    apiHost: config.apiHost,
    apiPort: portOf(apiUrl) ?? config.apiPort,
    p2pHost: config.p2pHost,
    p2pPort: p2pPortOf(status?.multiaddrs ?? []) ?? config.p2pPort,
    bootstrap: config.bootstrap,
    mdns: config.mdns,
    apiKeySet: config.apiKey !== undefined,
    runtime: config.runtime,
    endpoint: config.endpoint,
    models: config.models,
    pauseStopsRuntime: config.pauseStopsRuntime,
    pricePerMillionTokens: config.pricePerMillionTokens,
    prices: config.prices,
    priceUnit: config.priceUnit,
    maxPrice: config.maxPrice,
    maxConcurrentJobs: config.maxConcurrentJobs
  }
}

function portOf(url: string): number | undefined {
  try {
    const port = new URL(url).port
    return port === '' ? undefined : Number(port)
  } catch {
    return undefined
  }
}

/** The port actually bound, from the first `/tcp/<port>` multiaddr (the config may say 0). */
function p2pPortOf(multiaddrs: string[]): number | undefined {
  for (const addr of multiaddrs) {
    const match = /\/tcp\/(\d+)/.exec(addr)
    if (match) return Number(match[1])
  }
  return undefined
}
