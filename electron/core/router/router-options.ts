import type { InferBody } from '../../../shared/infer'
import type { NodeEvents } from '../events'
import type { PeerTable } from '../p2p/peer-table'
import type { Logger } from '../util/logger'
import type { MaxPrice } from '../../../shared/price'
import type { LocalRuntimeSource } from './candidates'
import type { ProviderRecords } from './provider-records'
import type { PromptPolicy } from './route-limits'
import type { RetryBudget } from './retry-budget'
import type { RoutingPolicy } from './scoring'
import type { AttemptTimeouts } from './timeouts'
import type { MeshTransport, ProviderTransport } from './transport'
import type { TrustSource } from './trust-source'

export interface RouterOptions {
  peers: PeerTable
  /** Reaches providers; default: libp2p infer streams, and the local runtime directly. */
  transport?: ProviderTransport
  /** Dials providers for the default transport; omitted on a node without libp2p. */
  libp2p?: ConstructorParameters<typeof MeshTransport>[0]
  local?: LocalRuntimeSource
  /** Where the owner lets prompts go. */
  promptPolicy?: PromptPolicy
  /** This node's trust in providers; default: from the router's own records. */
  trust?: TrustSource
  events: NodeEvents
  logger: Logger
  policy?: RoutingPolicy
  timeouts?: Partial<AttemptTimeouts>
  /** Attempts per request, first one included. */
  maxAttempts?: number
  /** Longest a request may take in all, failovers included. */
  requestDeadlineMs?: number
  retryBudget?: RetryBudget
  records?: ProviderRecords
  /** Seconds a 503 tells clients to wait. */
  retryAfterSeconds?: number
  /** The most this node pays (config); a request's `meshwork.maxPrice` can only lower it. */
  maxPrice?: MaxPrice
}

export interface RouteRequest {
  id: string
  call: InferBody
}
