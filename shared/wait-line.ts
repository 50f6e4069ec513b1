/**
 * A FIFO line of waiters for a limited resource (job slots, retry tokens). A waiter whose signal
 * aborts leaves the line; the owner decides when the next one is let through.
 */
export class WaitLine {
  private readonly entries: Array<{ grant: () => void; reject: (err: unknown) => void }> = []

  get length(): number {
    return this.entries.length
  }

  /** Resolves when granted; rejects with the signal's reason if it aborts first. */
  wait(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
        reject: (err: unknown) => {
          signal?.removeEventListener('abort', onAbort)
          reject(err)
        }
      }
      const onAbort = (): void => {
        const at = this.entries.indexOf(entry)
        if (at >= 0) this.entries.splice(at, 1)
        reject(signal?.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.entries.push(entry)
    })
  }

  /** Lets the first waiter through; false when nobody waits. */
  grantNext(): boolean {
    const next = this.entries.shift()
    next?.grant()
    return next !== undefined
  }

  rejectAll(err: unknown): void {
    for (const entry of this.entries.splice(0)) entry.reject(err)
  }
}
