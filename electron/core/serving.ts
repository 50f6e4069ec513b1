import type { BenchmarkMap, HardwareProfile } from '../../shared/hardware'
import type { Config } from './config'
import type { NodeEvents } from './events'
import { ensureBenchmarks } from './runtime/benchmark/benchmark-cache'
import { createRuntime } from './runtime/create'
import { resolveModel } from './runtime/models/store'
import type { ResolvedModel } from './runtime/models/types'
import type { InferenceRuntime } from './runtime/types'
import { UnavailableRuntime } from './runtime/unavailable-runtime'
import type { Logger } from './util/logger'
import type { Startable } from './util/startable'

export interface ServingComponents {
  events: NodeEvents
  logger: Logger
  /** This machine's hardware, detected before serving starts. */
  hardware: () => HardwareProfile
  /** Called whenever what we serve (models, benchmark) changed, so the advert is re-signed. */
  onChange: () => void
}

export interface ServingInit {
  config: Config
  peerId: string
}

/**
 * The provider half of a node: resolve models (built-in, path or download), run them in a runtime,
 * benchmark them, and free the GPU on pause. Runs in the background so the node is up at once.
 */
export class Serving implements Startable {
  runtime?: InferenceRuntime
  benchmark: BenchmarkMap = {}
  private readonly controller = new AbortController()
  private starting?: Promise<void>

  constructor(
    private readonly components: ServingComponents,
    private readonly init: ServingInit
  ) {}

  async start(): Promise<void> {
    // a runtime that became ready after retries (or was replaced) gets benchmarked then
    this.components.events.on('runtime:status', this.onRuntimeStatus)
    this.starting = this.bringUp().catch((err) => {
      if (this.controller.signal.aborted) return
      this.components.logger.error('serving failed to start; this node keeps routing', { err })
      const unavailable = new UnavailableRuntime((err as Error).message, this.components.events)
      this.runtime = unavailable
      void unavailable.start().finally(() => this.components.onChange())
    })
  }

  async stop(): Promise<void> {
    this.components.events.off('runtime:status', this.onRuntimeStatus)
    this.controller.abort()
    await this.starting?.catch(() => {})
    await this.runtime?.stop()
  }

  async suspend(): Promise<void> {
    await this.runtime?.suspend()
  }

  async resume(): Promise<void> {
    await this.runtime?.resume()
  }

  private async bringUp(): Promise<void> {
    const { events, logger } = this.components
    const { config } = this.init
    const signal = this.controller.signal
    const models: ResolvedModel[] = []
    for (const spec of config.models) {
      const model = await resolveModel(spec, config.dataDir, {
        signal,
        onProgress: (p) => events.emit('runtime:progress', p)
      })
      logger.info('model ready', { name: model.name, sha256: model.sha256, params: model.params })
      models.push(model)
    }
    const vendor = this.components.hardware().gpus[0]?.vendor.toLowerCase()
    const runtime = createRuntime(config, {
      logger: logger.child('runtime'),
      events,
      peerId: this.init.peerId,
      dataDir: config.dataDir,
      models,
      gpu: vendor === undefined ? undefined : { vendor },
      threads: config.workerThreads
    })
    this.runtime = runtime
    await runtime.start()
    signal.throwIfAborted()
    this.components.onChange()
    await this.measure()
  }

  /** Models that can take jobs now (a failed or unavailable runtime advertises nothing). */
  servedModels(): ReturnType<InferenceRuntime['models']> {
    const state = this.runtime?.status().state
    return state === 'ready' || state === 'paused' ? (this.runtime?.models() ?? []) : []
  }

  private readonly onRuntimeStatus = (status: { state: string }): void => {
    this.components.onChange()
    const missing = this.runtime?.models().some((m) => this.benchmark[m.name] === undefined) ?? false
    if (status.state === 'ready' && missing && this.starting !== undefined) {
      this.starting.then(() => this.measure()).catch((err) => this.components.logger.warn('benchmark failed', { err }))
    }
  }

  /** Benchmarks from the cache when hardware, model and runtime are unchanged; measured otherwise. */
  async measure(force = false): Promise<void> {
    const runtime = this.runtime
    const endpoint = runtime?.endpoint()
    if (runtime === undefined || endpoint === undefined) return
    this.benchmark = await ensureBenchmarks({
      dataDir: this.init.config.dataDir,
      endpoint,
      token: runtime.token?.(),
      runtimeKind: runtime.kind,
      hardware: this.components.hardware(),
      models: runtime.models(),
      force,
      signal: this.controller.signal,
      logger: this.components.logger.child('benchmark'),
      onProgress: (p) => this.components.events.emit('benchmark:progress', p)
    })
    this.components.onChange()
  }
}

/** This node's own runtime as a reference (reputation challenges compare peers' answers with it). */
export function localReference(serving: Serving | undefined): {
  sha256: (model: string) => string | undefined
  stream: InferenceRuntime['stream']
} {
  return {
    sha256: (model) => serving?.runtime?.models().find((m) => m.name === model)?.sha256,
    stream: (call, options) => {
      const runtime = serving?.runtime
      if (runtime === undefined) throw new Error('the local runtime is not ready')
      return runtime.stream(call, options)
    }
  }
}
