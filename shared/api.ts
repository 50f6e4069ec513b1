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

/** How peers reach this node: directly (public), through relays (private), or not known yet. */
export const ReachabilitySchema = z.object({
  status: z.enum(['public', 'private', 'unknown']),
  /** Relays holding a slot for this node (their peer ids). */
  relays: z.array(z.string()),
  /** The addresses peers are told to dial, relayed ones included. */
  addresses: z.array(z.string())
})
export type Reachability = z.infer<typeof ReachabilitySchema>
export type ReachabilityStatus = Reachability['status']

/** How this node is connected to a peer now: directly, only through a relay, or not at all. */
export const ConnectionKindSchema = z.enum(['direct', 'relayed', 'none'])
export type ConnectionKind = z.infer<typeof ConnectionKindSchema>

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
  reachability: ReachabilitySchema,
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
  connection: ConnectionKindSchema,
  lastSeen: z.number(),
  advert: AdvertSchema
})
export type PeerView = z.infer<typeof PeerViewSchema>

export const PeersResponseSchema = z.object({ peers: z.array(PeerViewSchema) })
export type PeersResponse = z.infer<typeof PeersResponseSchema>

/** How many p2p addresses api.json lists at most. */
export const API_FILE_MAX_MULTIADDRS = 64

/** Written to <data-dir>/api.json so CLI subcommands can find a running node. */
export const ApiFileSchema = z.object({
  apiUrl: z.string().url(),
  pid: z.number().int(),
  peerId: z.string(),
  apiKey: z.string().optional(),
  /** The node's libp2p addresses when it started (its chosen ports), to bootstrap other nodes from. */
  multiaddrs: z.array(z.string().max(1024)).max(API_FILE_MAX_MULTIADDRS).optional()
})
export type ApiFile = z.infer<typeof ApiFileSchema>
