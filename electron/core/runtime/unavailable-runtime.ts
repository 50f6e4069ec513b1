import type { RuntimeStatus } from '../../../shared/api'
import type { ServedModel } from '../../../shared/models'
import type { NodeEvents } from '../events'
import type { InferenceRuntime } from './types'
import type { InferBody } from '../../../shared/infer'
import { streamFromEndpoint } from './client/runtime-client'
import type { AbortOptions } from '../util/startable'

/** No way to run a model here: the node keeps routing, and the status says what to install. */
export class UnavailableRuntime implements InferenceRuntime {
  readonly kind = 'none' as const
  readonly supportsTokenContinuation = false
  private state: RuntimeStatus['state'] = 'stopped'

  constructor(
    readonly reason: string,
    private readonly events?: NodeEvents
  ) {}

  status(): RuntimeStatus {
    return { kind: 'none', state: this.state, message: this.reason }
  }

  endpoint(): undefined {
    return undefined
  }

  models(): ServedModel[] {
    return []
  }

  async start(): Promise<void> {
    this.state = 'unavailable'
    this.events?.emit('runtime:status', this.status())
  }

  async stop(): Promise<void> {
    this.state = 'stopped'
  }

  stream(call: InferBody, options?: AbortOptions): ReturnType<InferenceRuntime['stream']> {
    return streamFromEndpoint(undefined, call, options)
  }

  async suspend(): Promise<void> {}
  async resume(): Promise<void> {}
}
