import type { RuntimeStatus } from '../../../shared/api'
import type { InferBody } from '../../../shared/infer'
import type { ServedModel } from '../../../shared/models'
import type { AbortOptions } from '../util/startable'
import { streamFromEndpoint } from './client/runtime-client'
import type { Config } from '../config'
import type { RuntimeComponents, RuntimeOptions } from './components'
import { DockerLauncher } from './docker/docker-launcher'
import { createDockerClient, detectDocker } from './docker/engine'
import { ExternalRuntime } from './external/external-runtime'
import { ProcessLauncher } from './process/process-launcher'
import { SupervisedRuntime } from './supervisor'
import type { InferenceRuntime } from './types'
import { UnavailableRuntime } from './unavailable-runtime'
import { servedModels } from './worker-args'

export type RuntimeConfig = Pick<
  Config,
  'runtime' | 'endpoint' | 'allowProcessFallback' | 'maxConcurrentJobs' | 'maxQueuedJobs'
> &
  Partial<Pick<Config, 'workerImage'>>

function withConfig(config: RuntimeConfig, options: RuntimeOptions): RuntimeOptions {
  return { parallel: config.maxConcurrentJobs, maxQueue: config.maxQueuedJobs, image: config.workerImage, ...options }
}

function supervised(
  launcher: DockerLauncher | ProcessLauncher,
  components: RuntimeComponents,
  options: RuntimeOptions
): SupervisedRuntime {
  return new SupervisedRuntime(launcher, {
    logger: components.logger.child(launcher.kind),
    events: components.events,
    models: servedModels(components.models),
    healthIntervalMs: options.healthIntervalMs,
    healthFailures: options.healthFailures,
    restartBaseMs: options.restartBaseMs,
    restartMaxMs: options.restartMaxMs
  })
}

export function createDockerRuntime(components: RuntimeComponents, options: RuntimeOptions = {}): SupervisedRuntime {
  return supervised(new DockerLauncher(components, options), components, options)
}

export function createProcessRuntime(components: RuntimeComponents, options: RuntimeOptions = {}): SupervisedRuntime {
  return supervised(new ProcessLauncher(components, options), components, options)
}

export function createExternalRuntime(
  endpoint: string,
  components: RuntimeComponents,
  options: RuntimeOptions = {}
): ExternalRuntime {
  return new ExternalRuntime(endpoint, components, options)
}

/**
 * The runtime `config.runtime` asks for. 'auto' picks Docker when an engine answers, else the process
 * runtime when `allowProcessFallback`, else a runtime that stays 'unavailable' and says what to install.
 */
export function createRuntime(
  config: RuntimeConfig,
  components: RuntimeComponents,
  options: RuntimeOptions = {}
): InferenceRuntime {
  const merged = withConfig(config, options)
  switch (config.runtime) {
    case 'docker':
      return createDockerRuntime(components, merged)
    case 'process':
      return createProcessRuntime(components, merged)
    case 'external':
      if (config.endpoint === undefined)
        return new UnavailableRuntime('--runtime external needs --endpoint URL', components.events)
      return createExternalRuntime(config.endpoint, components, merged)
    case 'auto':
      return new AutoRuntime(config, components, merged)
  }
}

/**
 * Decides between Docker and the process runtime when started (the engine may come and go). It
 * implements every member, the optional ones too (`Required`), so a member added to InferenceRuntime
 * fails to compile here until it is forwarded: a missing `token()` once broke the benchmark silently.
 */
class AutoRuntime implements Required<InferenceRuntime> {
  private chosen?: InferenceRuntime

  constructor(
    private readonly config: RuntimeConfig,
    private readonly components: RuntimeComponents,
    private readonly options: RuntimeOptions
  ) {}

  get kind(): RuntimeStatus['kind'] {
    return this.chosen?.kind ?? 'none'
  }

  get supportsTokenContinuation(): boolean {
    return this.chosen?.supportsTokenContinuation ?? false
  }

  status(): RuntimeStatus {
    return this.chosen?.status() ?? { kind: 'none', state: 'stopped' }
  }

  endpoint(): string | undefined {
    return this.chosen?.endpoint()
  }

  /** The chosen worker's launch token: what calls `endpoint()` directly (the benchmark) must send. */
  token(): string | undefined {
    return this.chosen?.token?.()
  }

  models(): ServedModel[] {
    return this.chosen?.models() ?? []
  }

  stream(call: InferBody, options?: AbortOptions): ReturnType<InferenceRuntime['stream']> {
    return this.chosen?.stream(call, options) ?? streamFromEndpoint(undefined, call, options)
  }

  async start(options?: AbortOptions): Promise<void> {
    this.chosen ??= await this.choose()
    await this.chosen.start(options)
  }

  async beforeStop(options?: AbortOptions): Promise<void> {
    await this.chosen?.beforeStop?.(options)
  }

  async stop(options?: AbortOptions): Promise<void> {
    await this.chosen?.stop(options)
  }

  async afterStop(options?: AbortOptions): Promise<void> {
    await this.chosen?.afterStop?.(options)
  }

  async suspend(): Promise<void> {
    await this.chosen?.suspend()
  }

  async resume(): Promise<void> {
    if (this.chosen) await this.chosen.resume()
    else await this.start()
  }

  private async choose(): Promise<InferenceRuntime> {
    const { logger, events } = this.components
    try {
      await detectDocker(await createDockerClient())
      return createDockerRuntime(this.components, this.options)
    } catch (err) {
      const reason = (err as Error).message
      if (this.config.allowProcessFallback) {
        logger.warn('no Docker engine; running the worker as a child process (less isolated: it runs as this user)', {
          reason
        })
        return createProcessRuntime(this.components, this.options)
      }
      return new UnavailableRuntime(reason, events)
    }
  }
}
