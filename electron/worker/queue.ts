import { queueFull, shuttingDown } from './errors'

/**
 * At most `parallel` jobs run; at most `maxQueue` wait (FIFO); beyond that `acquire` throws
 * 429 queue_full at once. A waiter whose signal aborts leaves the queue.
 */
export class JobQueue {
  private running = 0
  private closed = false
  private readonly waiting: { grant: () => void; reject: (err: unknown) => void }[] = []
  private idleWaiters: (() => void)[] = []

  constructor(readonly parallel: number, readonly maxQueue: number) {}

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
    await new Promise<void>((resolve, reject) => {
      const entry = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
        reject
      }
      const onAbort = (): void => {
        const at = this.waiting.indexOf(entry)
        if (at >= 0) this.waiting.splice(at, 1)
        reject(signal?.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.waiting.push(entry)
    })
    return this.releaser()
  }

  private releaser(): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.waiting.shift()
      if (next) return next.grant() // the slot passes straight to the next waiter
      this.running--
      if (this.running === 0) for (const done of this.idleWaiters.splice(0)) done()
    }
  }

  /** Refuse new jobs and reject the waiting ones; running jobs continue. */
  close(): void {
    this.closed = true
    for (const w of this.waiting.splice(0)) w.reject(shuttingDown())
  }

  /** Resolves when nothing runs. */
  async idle(): Promise<void> {
    if (this.running === 0) return
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve))
  }
}
