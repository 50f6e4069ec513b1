import type { NodeEvents } from './events'
import { readState, writeState } from './node-state'
import type { Logger } from './util/logger'
import type { AbortOptions, Startable } from './util/startable'

export interface PauseComponents {
  events: NodeEvents
  logger: Logger
  /** Re-signs and spreads this node's advert (it says whether the node is paused). */
  refreshAdvert: () => Promise<void>
  /** Resolves once no provider job runs or waits; rejects when the signal aborts first. */
  jobsIdle: (options?: AbortOptions) => Promise<void>
  /** Frees and re-takes the GPU; absent on a router-only node. */
  runtime?: { suspend(): Promise<void>; resume(): Promise<void> }
}

export interface PauseInit {
  /** Where state.json lives: the choice survives restarts. */
  dataDir: string
  /** Stop the runtime on pause (after the jobs in flight finished) to free the GPU. */
  pauseStopsRuntime: boolean
  /** How long a pause waits for jobs in flight before it frees the GPU anyway (default 60 s). */
  suspendAfterMs?: number
}

/**
 * The tray's pause toggle (persisted in state.json, with the GPU freed once the jobs in flight are
 * done), and the refusal that goes with stopping: a paused or stopping node takes no new provider
 * jobs. It comes before the infer service in the node's list (the choice is known before the first
 * job); `drain` is a step of its own after the infer service, so it runs before that stops.
 */
export class PauseControl implements Startable {
  private pausedNow = false
  private stopping = false
  private readonly stopped = new AbortController()

  constructor(
    private readonly components: PauseComponents,
    private readonly init: PauseInit
  ) {}

  /** The user's choice (shown in /api/status and the tray). */
  get paused(): boolean {
    return this.pausedNow
  }

  /** Whether new provider jobs are refused: paused, or stopping. Also what the advert says. */
  refusesJobs(): boolean {
    return this.pausedNow || this.stopping
  }

  async start(): Promise<void> {
    this.pausedNow = readState(this.init.dataDir).paused
    if (this.pausedNow && this.init.pauseStopsRuntime)
      this.components.logger.info('starting paused (the choice survives restarts)')
  }

  /** Refuse new jobs and tell the mesh at once, so peers route elsewhere while this node drains. */
  async beforeStop(): Promise<void> {
    this.stopping = true
    await this.components.refreshAdvert()
  }

  async stop(): Promise<void> {
    this.stopping = true
    this.stopped.abort()
  }

  /** Waits until no provider job runs or waits, or the stop deadline (the signal) passes. */
  async drain(options: AbortOptions = {}): Promise<void> {
    this.stopping = true
    await this.components.jobsIdle(options).catch(() => {
      this.components.logger.warn('provider jobs still running at the stop deadline; they are cut')
    })
  }

  async set(paused: boolean): Promise<void> {
    if (this.pausedNow === paused) return
    const { runtime, logger } = this.components
    if (!paused && this.init.pauseStopsRuntime) await runtime?.resume()
    this.pausedNow = paused
    await writeState(this.init.dataDir, { paused })
    await this.components.refreshAdvert()
    this.components.events.emit('status:changed', { paused })
    logger.info(paused ? 'paused: no new jobs' : 'resumed: taking jobs')
    // in-flight jobs finish first, then the GPU is freed
    if (paused && this.init.pauseStopsRuntime) {
      this.suspendWhenIdle().catch((err) => logger.error('suspending the runtime failed', { err }))
    }
  }

  private async suspendWhenIdle(): Promise<void> {
    const waited = AbortSignal.timeout(this.init.suspendAfterMs ?? 60_000)
    await this.components.jobsIdle({ signal: AbortSignal.any([waited, this.stopped.signal]) }).catch(() => {})
    // stopping stops the runtime anyway; a resume in the meantime keeps it
    if (this.pausedNow && !this.stopped.signal.aborted) await this.components.runtime?.suspend()
  }
}
