import { MeshworkError } from '../util/errors'
import type { AbortOptions } from '../util/startable'
import { WaitLine } from '../../../shared/wait-line'

export class RetryBudgetExceededError extends MeshworkError {
  constructor(message: string) {
    super(message, 'retry_budget_exceeded', 503)
    this.name = 'RetryBudgetExceededError'
  }
}

export interface RetryBudgetOptions {
  /** Share of active requests that may be retries at once (Envoy/Linkerd: 20%). */
  ratio?: number
  /** Retries always allowed concurrently, whatever the ratio (Envoy's min_retry_concurrency). */
  minConcurrency?: number
  /** Retries waiting for budget; beyond this a retry is refused at once. */
  maxQueued?: number
}

/**
 * Caps concurrent retries so that a failure cannot multiply load. A retry over budget waits in a
 * bounded FIFO queue instead of failing, so a burst right after a failure is not lost.
 */
export class RetryBudget {
  private active = 0
  private retries = 0
  private readonly waiting = new WaitLine()
  private readonly ratio: number
  private readonly min: number
  private readonly maxQueued: number

  constructor(options: RetryBudgetOptions = {}) {
    this.ratio = options.ratio ?? 0.2
    this.min = options.minConcurrency ?? 3
    this.maxQueued = options.maxQueued ?? 1024
  }

  /** Call when a request starts; the returned function when it ends. */
  requestStarted(): () => void {
    this.active++
    this.drain()
    let done = false
    return () => {
      if (done) return
      done = true
      this.active--
    }
  }

  limit(): number {
    return Math.max(this.min, Math.floor(this.active * this.ratio))
  }

  stats(): { active: number; retries: number; queued: number; limit: number } {
    return { active: this.active, retries: this.retries, queued: this.waiting.length, limit: this.limit() }
  }

  /** Take a retry token, waiting (bounded) when over budget. Resolves with its release function. */
  async acquire(options: AbortOptions = {}): Promise<() => void> {
    options.signal?.throwIfAborted()
    if (this.retries < this.limit() && this.waiting.length === 0) {
      this.retries++
      return this.releaser()
    }
    if (this.waiting.length >= this.maxQueued) throw new RetryBudgetExceededError('too many retries are waiting')
    await this.waiting.wait(options.signal)
    return this.releaser()
  }

  private releaser(): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      this.retries--
      this.drain()
    }
  }

  private drain(): void {
    while (this.waiting.length > 0 && this.retries < this.limit()) {
      this.retries++
      this.waiting.grantNext()
    }
  }
}
