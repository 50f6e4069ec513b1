/**
 * Ledger work taken off the request path. A ledger append is a synchronous SQLite transaction
 * flushed to disk (a few ms on a busy disk), and it blocks the event loop while it runs: run before
 * a request's last byte, it delays the client's end of response and every other stream of the node.
 * Queued here, it runs in the next turn of the event loop, once the bytes already written have gone
 * out (between one request and the next), and what was queued in one turn shares one transaction.
 * Nothing is lost on a clean stop: readers of the ledger `flush()` first, and stopping waits for it.
 */
export class DeferredWrites {
  private readonly queue: Array<() => void> = []
  private scheduled: NodeJS.Immediate | undefined

  constructor(
    private readonly onError: (err: unknown) => void,
    /** Runs the queued work in one transaction. */
    private readonly batch: (work: () => void) => void = (work) => work()
  ) {}

  /** Runs `work` in the next turn of the event loop (in the order added). */
  add(work: () => void): void {
    this.queue.push(work)
    this.scheduled ??= setImmediate(() => this.flush())
  }

  /** Runs everything queued now (a read that must see every recorded receipt calls this first). */
  flush(): void {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled)
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
