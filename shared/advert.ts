import { z } from 'zod'
import { BenchmarkMapSchema, HardwareProfileSchema } from './hardware'
import { ServedModelSchema } from './models'
import { AdvertPriceSchema } from './price'

/** Largest advert frame a peer accepts (bytes on the wire). */
export const MAX_ADVERT_BYTES = 64 * 1024

/** The signed statement a provider makes about itself. */
export const AdvertSchema = z.object({
  peerId: z.string().max(128),
  version: z.string().max(32),
  seq: z.number().int().nonnegative(),
  timestamp: z.number().int().nonnegative(),
  paused: z.boolean(),
  models: z.array(ServedModelSchema).max(64),
  hardware: HardwareProfileSchema.optional(),
  benchmark: BenchmarkMapSchema,
  /** Credits per million tokens: a flat price, and per-model prompt and completion prices. */
  price: AdvertPriceSchema,
  load: z.object({
    inflight: z.number().int().nonnegative(),
    queued: z.number().int().nonnegative(),
    capacity: z.number().int().nonnegative()
  }),
  /** The longest this provider waits before signing its next advert (its heartbeat), in ms. */
  heartbeatMs: z.number().int().min(100).max(600_000).optional()
})
export type Advert = z.infer<typeof AdvertSchema>
