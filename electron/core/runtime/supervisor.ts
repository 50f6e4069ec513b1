import type { RuntimeStatus } from '../../../shared/api'
import type { NodeEvents } from '../events'
import { RuntimeUnavailableError } from '../util/errors'
import type { Logger } from '../util/logger'
import { type AbortOptions, sleep } from '../util/startable'
import type { InferBody } from '../../../shared/infer'
import { streamFromEndpoint } from './client/runtime-client'
import { probe } from './health'
import type { InferenceRuntime } from './types'
import type { ServedModel } from '../../../shared/models'

/** One running worker (a container or a child process), healthy when returned by `launch`. */
export interface WorkerInstance {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  endpoint: string
  /** Per-launch token the worker requires as `Authorization: Bearer` on every route but /health. */
  token?: string
  /** Container id or process id. */
  id: string
  /** Resolves with a reason once the worker has exited (never rejects). */
  exited: Promise<string>
  /** Graceful stop, then force; resolves when the worker and its leftovers are gone. */
  stop(): Promise<void>
}

/** The part that differs between Docker and a child process. */
export interface WorkerLauncher {
  readonly kind: 'docker' | 'process'
  /** Once per start: engine check, image, orphan clean-up; `report` shows progress such as 'building'. */
  prepare(options: {
    signal: AbortSignal
    report: (state: RuntimeStatus['state'], message?: string) => void
  }): Promise<void>
  launch(options: { signal: AbortSignal }): Promise<WorkerInstance>
  /** Extra status fields (image, container id). */
  details(instance: WorkerInstance | undefined): Partial<RuntimeStatus>
}

export interface SupervisorOptions {
  logger: Logger
  events: NodeEvents
  models: ServedModel[]
  healthIntervalMs?: number
  healthFailures?: number
  restartBaseMs?: number
  restartMaxMs?: number
  /** A worker that stayed up this long resets the backoff. */
  stableMs?: number
}

/** Keeps one worker running: restarts it with backoff when it exits or stops answering /health. */
export class SupervisedRuntime implements InferenceRuntime {
  readonly supportsTokenContinuation = true
  private state: RuntimeStatus['state'] = 'stopped'
  private message?: string
  private instance?: WorkerInstance
  private loop?: Promise<void>
  private controller?: AbortController
  private restarts = 0

  constructor(
    private readonly launcher: WorkerLauncher,
    private readonly options: SupervisorOptions
  ) {}

  get kind(): 'docker' | 'process' {
    return this.launcher.kind
  }

  /** How many times the worker was replaced since start (tests, metrics). */
  get restartCount(): number {
    return this.restarts
  }

  status(): RuntimeStatus {
    return {
      kind: this.kind,
      state: this.state,
      ...this.launcher.details(this.instance),
      ...(this.instance && this.state === 'ready' ? { endpoint: this.instance.endpoint } : {}),
      ...(this.message ? { message: this.message } : {})
    }
  }

  /** Container id or process id of the running worker. */
  workerId(): string | undefined {
    return this.instance?.id
  }

  endpoint(): string | undefined {
    return this.state === 'ready' ? this.instance?.endpoint : undefined
  }

  models(): ServedModel[] {
    return this.options.models
  }

  token(): string | undefined {
    return this.state === 'ready' ? this.instance?.token : undefined
  }

  stream(call: InferBody, options?: AbortOptions): ReturnType<InferenceRuntime['stream']> {
    return streamFromEndpoint(this.endpoint(), call, { ...options, token: this.token() })
  }

  /** Starts the worker and waits for the first attempt; a failure leaves state 'failed'/'unavailable' and retries. */
  async start(): Promise<void> {
    if (this.loop) return
    const controller = new AbortController()
    this.controller = controller
    let first!: () => void
    const firstAttempt = new Promise<void>((resolve) => (first = resolve))
    this.loop = this.supervise(controller.signal, first)
      .catch((err: unknown) => {
        this.options.logger.error('runtime supervisor crashed', { err })
        this.setState('failed', (err as Error).message)
      })
      .finally(first)
    await firstAttempt
  }

  async stop(): Promise<void> {
    await this.halt('stopped')
  }

  async suspend(): Promise<void> {
    await this.halt('paused')
  }

  async resume(): Promise<void> {
    if (this.loop) return
    await this.start()
  }

  private async halt(final: 'stopped' | 'paused'): Promise<void> {
    this.controller?.abort()
    const loop = this.loop
    this.loop = undefined
    this.controller = undefined
    await loop
    const instance = this.instance
    this.instance = undefined
    if (instance)
      await instance.stop().catch((err: unknown) => this.options.logger.warn('stopping the worker failed', { err }))
    this.setState(final)
  }

  private setState(state: RuntimeStatus['state'], message?: string): void {
    if (state === this.state && message === this.message && state !== 'ready') return
    this.state = state
    this.message = message
    this.options.events.emit('runtime:status', this.status())
  }

  private async supervise(signal: AbortSignal, first: () => void): Promise<void> {
    const { logger } = this.options
    const base = this.options.restartBaseMs ?? 500
    const max = this.options.restartMaxMs ?? 30_000
    let prepared = false
    let attempt = 0
    while (!signal.aborted) {
      let reason: string
      try {
        if (!prepared) {
          this.setState(this.state === 'failed' || this.state === 'unavailable' ? this.state : 'starting', this.message)
          await this.launcher.prepare({ signal, report: (state, message) => this.setState(state, message) })
          prepared = true
        }
        this.setState('starting', attempt > 0 ? this.message : undefined)
        const instance = await this.launcher.launch({ signal })
        this.instance = instance
        const readyAt = Date.now()
        this.setState('ready')
        first()
        reason = await this.watch(instance, signal)
        if (signal.aborted) return
        this.instance = undefined
        logger.warn('worker lost; replacing it', { id: instance.id, reason })
        await instance.stop().catch((err: unknown) => logger.warn('cleaning up the lost worker failed', { err }))
        if (Date.now() - readyAt >= (this.options.stableMs ?? 60_000)) attempt = 0
        this.restarts++
      } catch (err) {
        if (signal.aborted) return
        reason = (err as Error).message
        const unavailable =
          err instanceof RuntimeUnavailableError || (err as { code?: string }).code === 'docker_unavailable'
        logger.warn('worker failed to start', { err })
        this.setState(unavailable ? 'unavailable' : 'failed', reason)
        first()
      }
      const delay = Math.min(base * 2 ** attempt, max)
      attempt++
      if (this.state !== 'failed' && this.state !== 'unavailable')
        this.setState('starting', `worker ${reason}; restarting in ${delay} ms`)
      await sleep(delay, { signal }).catch(() => undefined)
    }
  }

  /** Resolves with a reason when the instance exits or fails `healthFailures` checks in a row. */
  private async watch(instance: WorkerInstance, signal: AbortSignal): Promise<string> {
    const interval = this.options.healthIntervalMs ?? 5000
    const limit = this.options.healthFailures ?? 3
    const watcher = new AbortController()
    const both = AbortSignal.any([signal, watcher.signal])
    const health = (async (): Promise<string> => {
      let failures = 0
      for (;;) {
        await sleep(interval, { signal: both })
        const result = await probe(`${instance.endpoint}/health`, { signal: both, timeoutMs: Math.min(interval, 5000) })
        failures = result.ok ? 0 : failures + 1
        if (failures >= limit) return `stopped answering /health (${result.error ?? `HTTP ${result.status}`})`
      }
    })().catch(() => 'stopped')
    const aborted = new Promise<string>((resolve) => {
      if (signal.aborted) resolve('stopped')
      else signal.addEventListener('abort', () => resolve('stopped'), { once: true })
    })
    try {
      return await Promise.race([instance.exited.then((r) => `exited (${r})`), health, aborted])
    } finally {
      watcher.abort()
    }
  }
}
