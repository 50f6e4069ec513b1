import { WaitLine } from '../../shared/wait-line'
import { queueFull, shuttingDown } from './errors'

/**
 * At most `parallel` jobs run; at most `maxQueue` wait (FIFO); beyond that `acquire` throws
 * 429 queue_full at once. A waiter whose signal aborts leaves the queue.
 */
export class JobQueue {
  private running = 0
  private closed = false
  private readonly waiting = new WaitLine()
  private idleWaiters: (() => void)[] = []

  constructor(
    readonly parallel: number,
    readonly maxQueue: number
  ) {}

  get active(): number {
    return this.running
  }

  get queued(): number {
    return this.waiting.length
  }

  /** Resolves with a release function once a slot is free. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.closed) throw shuttingDown()
    signal?.throwIfAborted()
    if (this.running < this.parallel) {
      this.running++
      return this.releaser()
    }
    if (this.waiting.length >= this.maxQueue) throw queueFull()
    await this.waiting.wait(signal)
    return this.releaser()
  }

  private releaser(): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      if (this.waiting.grantNext()) return // the slot passes straight to the next waiter
      this.running--
      if (this.running === 0) for (const done of this.idleWaiters.splice(0)) done()
    }
  }

  /** Refuse new jobs and reject the waiting ones; running jobs continue. */
  close(): void {
    this.closed = true
    this.waiting.rejectAll(shuttingDown())
  }

  /** Resolves when nothing runs. */
  async idle(): Promise<void> {
    if (this.running === 0) return
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve))
  }
}
