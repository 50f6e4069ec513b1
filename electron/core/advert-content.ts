import type { HardwareProfile } from '../../shared/hardware'
import type { AdvertPrice } from '../../shared/price'
import type { AdvertContent } from './p2p/advertiser'
import type { Serving } from './serving'
import { VERSION } from './version'

export interface AdvertSources {
  serving?: Pick<Serving, 'servedModels' | 'benchmark'>
  hardware: () => HardwareProfile
  /** Paused, or stopping: peers should not send new jobs. */
  refusesJobs: () => boolean
  load: () => { inflight: number; queued: number; capacity: number }
  pricePerMillionTokens: number
  /** Per-model prices and the credit unit (earnings/prices.ts); without it, the flat price in credits. */
  price?: AdvertPrice
}

/** What this node announces to the mesh; nothing while it serves no model. */
export function advertContent(sources: AdvertSources): AdvertContent | undefined {
  const models = sources.serving?.servedModels() ?? []
  if (models.length === 0) return undefined
  return {
    version: VERSION,
    paused: sources.refusesJobs(),
    models,
    hardware: sources.hardware(),
    benchmark: sources.serving?.benchmark ?? {},
    price: sources.price ?? { perMillionTokens: sources.pricePerMillionTokens, currency: 'credits' },
    load: sources.load()
  }
}
