import type { RuntimeStatus } from '../../../shared/api'
import type { NodeEvents } from '../events'
import type { Logger } from '../util/logger'
import type { ResolvedModel } from './models/types'
import type { WorkerPaths } from './paths'

/** What a runtime needs from the node. */
export interface RuntimeComponents {
  logger: Logger
  events: NodeEvents
  peerId: string
  dataDir: string
  models: ResolvedModel[]
  /** The detected GPU, when there is one: decides GPU device requests and `--gpu`. */
  gpu?: { vendor: 'nvidia' | 'amd' | 'intel' | 'apple' | string }
  threads: number
}

/** Knobs with sensible defaults; tests and benchmarks tune them. */
export interface RuntimeOptions {
  /** Where the worker bundle, node_modules and the Node binary are (found from this file by default). */
  paths?: Partial<WorkerPaths>
  /** A registry image that speaks the worker CLI, pulled instead of building one locally. */
  image?: string
  /** Worker concurrency and queue (worker flags --parallel / --max-queue). */
  parallel?: number
  maxQueue?: number
  /** How often a ready runtime is health-checked, and after how many failed checks it is restarted. */
  healthIntervalMs?: number
  healthFailures?: number
  /** How long a fresh worker may take to answer /health. */
  readyTimeoutMs?: number
  /** Restart backoff: first delay, doubled up to the maximum. */
  restartBaseMs?: number
  restartMaxMs?: number
  /** Container limits (defaults: models' size + 1 GiB; 256 processes/threads). */
  memoryBytes?: number
  pidsLimit?: number
  /** External runtime: how often an unreachable or ready endpoint is re-checked. */
  recheckIntervalMs?: number
}

export type RuntimeKind = RuntimeStatus['kind']
