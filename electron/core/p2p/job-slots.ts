import { BusyError } from '../util/errors'
import type { AbortOptions } from '../util/startable'

/** Concurrency limit with a bounded FIFO wait queue; a full queue refuses at once. */
export class JobSlots {
  private inflight = 0
  private readonly waiting: Array<() => void> = []

  constructor(
    private readonly capacity: number,
    private readonly maxQueued: number
  ) {}

  load(): { inflight: number; queued: number; capacity: number } {
    return { inflight: this.inflight, queued: this.waiting.length, capacity: this.capacity }
  }

  /** Resolves with a release function once a slot is free. */
  async acquire(options: AbortOptions = {}): Promise<() => void> {
    options.signal?.throwIfAborted()
    if (this.inflight < this.capacity) {
      this.inflight++
      return this.releaser()
    }
    if (this.waiting.length >= this.maxQueued) throw new BusyError()
    await new Promise<void>((resolve, reject) => {
      const entry = (): void => {
        options.signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      const onAbort = (): void => {
        const i = this.waiting.indexOf(entry)
        if (i >= 0) this.waiting.splice(i, 1)
        reject(options.signal?.reason)
      }
      options.signal?.addEventListener('abort', onAbort, { once: true })
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
      if (next) next() // the slot passes straight to the next job
      else this.inflight--
    }
  }
}
