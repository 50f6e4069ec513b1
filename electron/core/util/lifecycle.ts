import type { Logger } from './logger'
import type { AbortOptions, Startable } from './startable'

export interface NamedService {
  /** For the log lines: "stopping <name> failed". */
  name: string
  service: Startable
}

export interface LifecycleInit {
  logger: Logger
  /**
   * How long a stop step may still run once the stop deadline has passed before it is left behind
   * (logged), so one hung service cannot keep the others from releasing what they hold.
   */
  stepGraceMs?: number
}

/** Time the entry points allow past the stop deadline before they give up and exit anyway. */
export const EXIT_GRACE_MS = 10_000

type Phase = 'beforeStop' | 'stop' | 'afterStop'

/**
 * Runs an ordered list of services: starts them in order, stops them in reverse. When a start fails,
 * what already started is stopped again (in reverse) before the error is thrown, so a failed start
 * leaves nothing running. A failing or hung stop does not keep the others from stopping.
 */
export class Lifecycle {
  private started: NamedService[] = []
  private stopping?: Promise<void>
  private readonly stepGraceMs: number

  constructor(
    private readonly services: NamedService[],
    private readonly init: LifecycleInit
  ) {
    this.stepGraceMs = init.stepGraceMs ?? 2_000
  }

  async start(options: AbortOptions = {}): Promise<void> {
    if (this.started.length > 0 || this.stopping !== undefined) throw new Error('a lifecycle starts once')
    for (const entry of this.services) {
      try {
        options.signal?.throwIfAborted()
        await entry.service.start(options)
      } catch (err) {
        this.init.logger.debug(`starting ${entry.name} failed; stopping what started`, { err })
        await this.stop({ signal: AbortSignal.timeout(this.stepGraceMs) })
        throw err
      }
      this.started.push(entry)
    }
  }

  /** Stops what started, in reverse; the signal is the deadline for graceful work. Idempotent. */
  stop(options: AbortOptions = {}): Promise<void> {
    this.stopping ??= this.stopStarted(options.signal ?? new AbortController().signal)
    return this.stopping
  }

  private async stopStarted(signal: AbortSignal): Promise<void> {
    const reversed = this.started.reverse()
    this.started = []
    for (const phase of ['beforeStop', 'stop', 'afterStop'] as const) {
      for (const entry of reversed) await this.step(entry, phase, signal)
    }
  }

  private async step(entry: NamedService, phase: Phase, signal: AbortSignal): Promise<void> {
    const run = entry.service[phase]?.bind(entry.service)
    if (run === undefined) return
    let timer: NodeJS.Timeout | undefined
    let arm: (() => void) | undefined
    const late = new Promise<'late'>((resolve) => {
      arm = () => (timer = setTimeout(() => resolve('late'), this.stepGraceMs))
      if (signal.aborted) arm()
      else signal.addEventListener('abort', arm, { once: true })
    })
    try {
      const outcome = await Promise.race([Promise.resolve().then(() => run({ signal })), late])
      if (outcome === 'late')
        this.init.logger.warn(`stopping ${entry.name} (${phase}) ran past the stop deadline; going on without it`)
    } catch (err) {
      this.init.logger.error(`stopping ${entry.name} failed (${phase})`, { err })
    } finally {
      clearTimeout(timer)
      if (arm !== undefined) signal.removeEventListener('abort', arm)
    }
  }
}
