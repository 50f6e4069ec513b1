export type LookupResult = boolean | 'unfinished' | 'alone'

export interface LookupScheduleInit {
  /**
   * One round; resolves true when it found something new (so the next comes soon again), false when
   * it found nothing new (the wait grows), 'unfinished' when it was cut short (the wait stays), 'alone'
   * when the node has no connection and could not re-join (the next round comes after `aloneRetryMs`).
   */
  run: () => Promise<LookupResult>
  /** Delay after a round that found something, and the first step of the back-off. */
  baseMs: number
  /** Ceiling of the back-off while rounds find nothing new. */
  maxMs: number
  /** Delay after an 'alone' round (default baseMs): a node with no connection has nothing else to do. */
  aloneRetryMs?: number
  /** What each idle round multiplies the wait by (default 2). */
  growth?: number
  onError?: (err: unknown) => void
  /** A round still running after this long is given up on and the schedule goes on (default 60 s). */
  roundTimeoutMs?: number
}

function hung(ms: number): Promise<never> {
  return new Promise((_resolve, reject) => {
    setTimeout(() => reject(new Error(`lookup round still running after ${ms} ms`)), ms).unref?.()
  })
}

/**
 * Runs DHT lookup rounds on a back-off: each round that finds nothing new multiplies the wait (base up
 * to max), one that finds something, or a `nudge` (a new peer, a lost bootstrap, a model to
 * announce), brings it back to base. A settled mesh then costs a lookup every few minutes instead
 * of every few seconds, while adverts (gossiped on change and as a heartbeat) carry the news.
 */
export class LookupSchedule {
  private delayMs: number
  private timer?: NodeJS.Timeout
  private dueAt = Infinity
  private running = false
  private nudgedWhileRunning = false
  private stopped = true

  constructor(private readonly init: LookupScheduleInit) {
    this.delayMs = init.baseMs
  }

  /** The wait after the latest round (for logs and tests). */
  get currentDelayMs(): number {
    return this.delayMs
  }

  start(firstInMs = 0): void {
    this.stopped = false
    this.schedule(firstInMs)
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.dueAt = Infinity
  }

  /** Something changed: back to the base delay, and a round within it if the next was further away. */
  nudge(): void {
    this.delayMs = this.init.baseMs
    if (this.running) this.nudgedWhileRunning = true
    else this.schedule(this.init.baseMs)
  }

  private schedule(inMs: number): void {
    if (this.stopped) return
    const at = Date.now() + inMs
    if (at >= this.dueAt) return
    clearTimeout(this.timer)
    this.dueAt = at
    this.timer = setTimeout(() => void this.round(), inMs)
    this.timer.unref?.()
  }

  private async round(): Promise<void> {
    this.dueAt = Infinity
    this.running = true
    let foundNew: LookupResult = true
    try {
      // a round that hangs (a lookup that ignores its signal) must not stop every later round
      foundNew = await Promise.race([this.init.run(), hung(this.init.roundTimeoutMs ?? 60_000)])
    } catch (err) {
      this.init.onError?.(err)
    } finally {
      this.running = false
    }
    const { baseMs, maxMs } = this.init
    // a lookup cut off by its timeout (a loaded machine, a slow peer) proves nothing: the wait stays
    if (foundNew === true || foundNew === 'alone' || this.nudgedWhileRunning) this.delayMs = baseMs
    else if (foundNew === false) this.delayMs = Math.min(maxMs, this.delayMs * (this.init.growth ?? 2))
    this.nudgedWhileRunning = false
    // a node alone after a failed re-join tries again soon
    this.schedule(foundNew === 'alone' ? Math.min(baseMs, this.init.aloneRetryMs ?? baseMs) : this.delayMs)
  }
}
