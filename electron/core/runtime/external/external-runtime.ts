import type { RuntimeStatus } from '../../../../shared/api'
import type { InferBody } from '../../../../shared/infer'
import type { ServedModel } from '../../../../shared/models'
import { streamFromEndpoint } from '../client/runtime-client'
import { type AbortOptions, sleep } from '../../util/startable'
import type { RuntimeComponents, RuntimeOptions } from '../components'
import type { InferenceRuntime } from '../types'
import { servedModels } from '../worker-args'
import { externalModel, probeExternal, supportsTokenIds } from './probe'

/**
 * An OpenAI-compatible server the owner already runs (llama.cpp server, vLLM, Ollama). Nothing is
 * started or stopped here; the endpoint is checked now and then and served while it answers.
 */
export class ExternalRuntime implements InferenceRuntime {
  readonly kind = 'external' as const
  private state: RuntimeStatus['state'] = 'stopped'
  private message?: string
  private served: ServedModel[] = []
  private tokenIds = false
  private checkedTokenIds = false
  private controller?: AbortController
  private loop?: Promise<void>
  private readonly base: string

  constructor(
    endpoint: string,
    private readonly components: RuntimeComponents,
    private readonly options: RuntimeOptions = {}
  ) {
    const url = new URL(endpoint)
    // accept both http://host:port and http://host:port/v1
    this.base = url.origin + url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '')
  }

  get supportsTokenContinuation(): boolean {
    return this.tokenIds
  }

  status(): RuntimeStatus {
    return {
      kind: 'external',
      state: this.state,
      endpoint: this.base,
      ...(this.message ? { message: this.message } : {})
    }
  }

  endpoint(): string | undefined {
    return this.state === 'ready' ? this.base : undefined
  }

  models(): ServedModel[] {
    return this.served
  }

  stream(call: InferBody, options?: AbortOptions): ReturnType<InferenceRuntime['stream']> {
    return streamFromEndpoint(this.endpoint(), call, options)
  }

  async start(): Promise<void> {
    if (this.loop) return
    const controller = new AbortController()
    this.controller = controller
    await this.check(controller.signal)
    this.loop = this.recheck(controller.signal)
  }

  async stop(): Promise<void> {
    await this.halt('stopped')
  }

  async suspend(): Promise<void> {
    await this.halt('paused')
  }

  async resume(): Promise<void> {
    await this.start()
  }

  /** Checks the endpoint now (also done periodically after start). */
  async check(signal?: AbortSignal): Promise<RuntimeStatus> {
    const result = await probeExternal(this.base, { signal, timeoutMs: 3000 })
    if (!result.reachable) {
      this.served = []
      this.setState(
        'unavailable',
        `External runtime at ${this.base} is unreachable (${result.error}); is the server running?`
      )
      return this.status()
    }
    const configured = servedModels(this.components.models)
    this.served =
      configured.length > 0
        ? configured
        : result.modelIds.map((id) => externalModel(this.base, id)).filter((m) => m !== undefined)
    if (!this.checkedTokenIds && this.served.length > 0) {
      this.tokenIds = await supportsTokenIds(this.base, this.served[0].name, { signal })
      this.checkedTokenIds = true
    }
    if (this.served.length === 0)
      this.setState('failed', `External runtime at ${this.base} answers but lists no model; pass --model NAME`)
    else this.setState('ready')
    return this.status()
  }

  private async halt(final: 'stopped' | 'paused'): Promise<void> {
    this.controller?.abort()
    await this.loop
    this.loop = undefined
    this.controller = undefined
    this.setState(final)
  }

  private async recheck(signal: AbortSignal): Promise<void> {
    const interval = this.options.recheckIntervalMs ?? 10_000
    while (!signal.aborted) {
      try {
        await sleep(this.state === 'ready' ? interval : Math.min(interval, 5000), { signal })
        await this.check(signal)
      } catch (err) {
        if (signal.aborted) return
        this.components.logger.warn('checking the external runtime failed', { err })
      }
    }
  }

  private setState(state: RuntimeStatus['state'], message?: string): void {
    const changed = state !== this.state || message !== this.message
    this.state = state
    this.message = message
    if (changed) this.components.events.emit('runtime:status', this.status())
  }
}
