import type { RuntimeStatus } from '../../../shared/api'
import type { ServedModel } from '../../../shared/models'
import type { Startable } from '../util/startable'

/**
 * Whatever runs a model — our worker in Docker, the worker as a child process, or an external
 * OpenAI-compatible server — exposes the same HTTP (DESIGN §4.4) at `endpoint()`.
 */
export interface InferenceRuntime extends Startable {
  readonly kind: RuntimeStatus['kind']
  status(): RuntimeStatus
  /** Base URL (no trailing slash, no /v1) of the OpenAI-compatible server; undefined until ready. */
  endpoint(): string | undefined
  /** Models served, with the GGUF sha256 (empty until known). */
  models(): ServedModel[]
  /** Pause: stop the container/process to free the GPU. Resume restarts it. */
  suspend(): Promise<void>
  resume(): Promise<void>
  /** Whether this runtime accepts `prompt` as token ids and replays them (token-exact continuation). */
  readonly supportsTokenContinuation: boolean
}

export interface ProgressEvent {
  task: string
  /** 0..1, or undefined when the total is unknown */
  fraction?: number
  message?: string
}
