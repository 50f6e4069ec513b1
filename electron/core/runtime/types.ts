import type { RuntimeStatus } from '../../../shared/api'
import type { InferBody } from '../../../shared/infer'
import type { ServedModel } from '../../../shared/models'
import type { AbortOptions, Startable } from '../util/startable'
import type { RuntimeEvent } from './client/runtime-client'

/**
 * Whatever runs a model — our worker in Docker, the worker as a child process, or an external
 * OpenAI-compatible server — exposes the same OpenAI-compatible HTTP at `endpoint()`, and `stream()`
 * calls it: token deltas, then one final event; failures are InferErrors.
 */
export interface InferenceRuntime extends Startable {
  readonly kind: RuntimeStatus['kind']
  status(): RuntimeStatus
  /** Base URL (no trailing slash, no /v1) of the OpenAI-compatible server; undefined until ready. */
  endpoint(): string | undefined
  /** Token `endpoint()` requires as `Authorization: Bearer` (a worker's per-launch token), if any. */
  token?(): string | undefined
  /** Models served, with the GGUF sha256 (empty until known). */
  models(): ServedModel[]
  /** Pause: stop the container/process to free the GPU. Resume restarts it. */
  suspend(): Promise<void>
  resume(): Promise<void>
  /** Whether this runtime accepts `prompt` as token ids and replays them (token-exact continuation). */
  readonly supportsTokenContinuation: boolean
  /** One streamed completion (chat or text) with token ids. */
  stream(call: InferBody, options?: AbortOptions): AsyncGenerator<RuntimeEvent>
}

export interface ProgressEvent {
  task: string
  /** 0..1, or undefined when the total is unknown */
  fraction?: number
  message?: string
}
