import { z } from 'zod'
import { AdvertSchema } from './advert'
import { BenchmarkMapSchema, HardwareProfileSchema } from './hardware'
import { ServedModelSchema } from './models'

export const RuntimeStatusSchema = z.object({
  kind: z.enum(['docker', 'process', 'external', 'none']),
  state: z.enum(['stopped', 'starting', 'building', 'ready', 'paused', 'failed', 'unavailable']),
  image: z.string().optional(),
  containerId: z.string().optional(),
  endpoint: z.string().optional(),
  message: z.string().optional()
})
export type RuntimeStatus = z.infer<typeof RuntimeStatusSchema>

export const StatusResponseSchema = z.object({
  peerId: z.string(),
  version: z.string(),
  multiaddrs: z.array(z.string()),
  /** Open libp2p connections: 0 means this node is alone (bootstrap unreachable). */
  connections: z.number().int().min(0),
  apiUrl: z.string(),
  paused: z.boolean(),
  serving: z.boolean(),
  runtime: RuntimeStatusSchema,
  models: z.array(ServedModelSchema),
  hardware: HardwareProfileSchema,
  benchmark: BenchmarkMapSchema,
  stats: z.object({ served: z.number().int(), routed: z.number().int(), failovers: z.number().int() }),
  uptimeSeconds: z.number()
})
export type StatusResponse = z.infer<typeof StatusResponseSchema>

export const PeerViewSchema = z.object({
  peerId: z.string(),
  models: z.array(z.string()),
  paused: z.boolean(),
  alive: z.boolean(),
  trust: z.number().min(0).max(1),
  trustEvidence: z.record(z.string(), z.unknown()),
  excludedReason: z.string().optional(),
  rttMs: z.number().optional(),
  throughputMbps: z.number().optional(),
  lastSeen: z.number(),
  advert: AdvertSchema
})
export type PeerView = z.infer<typeof PeerViewSchema>

export const PeersResponseSchema = z.object({ peers: z.array(PeerViewSchema) })
export type PeersResponse = z.infer<typeof PeersResponseSchema>

/** Written to <data-dir>/api.json so CLI subcommands can find a running node. */
export const ApiFileSchema = z.object({
  apiUrl: z.string().url(),
  pid: z.number().int(),
  peerId: z.string(),
  apiKey: z.string().optional()
})
export type ApiFile = z.infer<typeof ApiFileSchema>
