/** How long bookkeeping may wait so that several receipts share one transaction (one flush to disk). */
export const DEFERRED_WRITE_MS = 50

/**
 * Ledger work taken off the request path. A ledger append is a synchronous SQLite transaction
 * flushed to disk (a few ms on a busy disk), and it blocks the event loop while it runs: run before
 * a job's last byte, it delays the client's end of response and every other stream of the node.
 * Queued here, it runs a moment later, after the bytes already written have gone out, and the
 * receipts queued meanwhile share one transaction (one flush to disk for all, under load too).
 * Nothing is lost on a clean stop: readers of the ledger `flush()` first, and stopping waits for it.
 */
export class DeferredWrites {
  private readonly queue: Array<() => void> = []
  private scheduled: NodeJS.Timeout | undefined

  constructor(
    private readonly onError: (err: unknown) => void,
    /** Runs the queued work in one transaction. */
    private readonly batch: (work: () => void) => void = (work) => work(),
    private readonly delayMs = DEFERRED_WRITE_MS
  ) {}

  /** Runs `work` a moment later (in the order added). */
  add(work: () => void): void {
    this.queue.push(work)
    this.scheduled ??= setTimeout(() => this.flush(), this.delayMs)
  }

  /** Runs everything queued now (a read that must see every recorded receipt calls this first). */
  flush(): void {
    clearTimeout(this.scheduled)
    this.scheduled = undefined
    if (this.queue.length > 0) {
      try {
        this.batch(() => {
          // work added while this runs (a countersignature offer) joins the same transaction
          for (let work = this.queue.shift(); work !== undefined; work = this.queue.shift()) {
            try {
              work()
            } catch (err) {
              this.onError(err)
            }
          }
        })
      } catch (err) {
        this.onError(err)
      }
    }
  }

  /** Work queued and not yet run. */
  get pending(): number {
    return this.queue.length
  }
}
