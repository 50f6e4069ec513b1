import { BusyError } from '../util/errors'
import type { AbortOptions } from '../util/startable'
import { WaitLine } from '../../../shared/wait-line'

export interface QueueNotice {
  everyMs: number
  run(): void
}

/** Concurrency limit with a bounded FIFO wait queue; a full queue refuses at once. */
export class JobSlots {
  private inflight = 0
  private readonly waiting = new WaitLine()
  private readonly idleWaiters = new Set<() => void>()

  constructor(
    private readonly capacity: number,
    private readonly maxQueued: number
  ) {}

  load(): { inflight: number; queued: number; capacity: number } {
    return { inflight: this.inflight, queued: this.waiting.length, capacity: this.capacity }
  }

  /** Resolves once no job runs or waits (at once when none does); rejects when `signal` aborts first. */
  async idle(options: AbortOptions = {}): Promise<void> {
    const { signal } = options
    signal?.throwIfAborted()
    if (this.inflight === 0 && this.waiting.length === 0) return
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort)
        this.idleWaiters.delete(done)
        resolve()
      }
      const onAbort = (): void => {
        this.idleWaiters.delete(done)
        reject(signal?.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.idleWaiters.add(done)
    })
  }

  /**
   * Resolves with a release function once a slot is free. A job that has to wait in line runs
   * `notice` at once and then every `notice.everyMs` until it leaves the line.
   */
  async acquire(options: AbortOptions & { notice?: QueueNotice } = {}): Promise<() => void> {
    options.signal?.throwIfAborted()
    if (this.inflight < this.capacity) {
      this.inflight++
      return this.releaser()
    }
    if (this.waiting.length >= this.maxQueued) throw new BusyError()
    const { notice } = options
    const timer = notice === undefined ? undefined : setInterval(notice.run, notice.everyMs)
    notice?.run()
    try {
      await this.waiting.wait(options.signal)
    } finally {
      clearInterval(timer)
    }
    return this.releaser()
  }

  private releaser(): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      // the slot passes straight to the next job
      if (!this.waiting.grantNext()) this.inflight--
      // a job that left the queue on abort never held a slot: only a release can make the slots idle
      if (this.inflight === 0 && this.waiting.length === 0) for (const done of [...this.idleWaiters]) done()
    }
  }
}
