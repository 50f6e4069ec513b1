import { InferError } from '../../../shared/infer-error'

/**
 * Per-attempt deadlines. Before the first token: `firstTokenMs` (plus `replayMsPerToken` for each
 * token a continuation replays). After it, a stall is declared when no token came for
 * max(minStallMs, stallFactor × the stream's own smoothed inter-token gap), capped at maxStallMs —
 * defaults 3 s, 8×, 30 s — so a slow but steady box is never failed over, while a stream that
 * stops cold moves on within seconds. A dead connection does not wait for any of this.
 * A provider that says the job waits in its line (`queued` frames) restarts the first-token clock
 * with each notice, for at most `maxQueueWaitMs` after the attempt began.
 */
export interface AttemptTimeouts {
  connectMs: number
  firstTokenMs: number
  replayMsPerToken: number
  minStallMs: number
  maxStallMs: number
  stallFactor: number
  maxQueueWaitMs: number
}

export const DEFAULT_TIMEOUTS: AttemptTimeouts = {
  connectMs: 5_000,
  firstTokenMs: 30_000,
  replayMsPerToken: 20,
  minStallMs: 3_000,
  maxStallMs: 30_000,
  stallFactor: 8,
  maxQueueWaitMs: 120_000
}

const ALPHA = 0.2
/** Queued frames one attempt takes: a provider notices every 5 s, so 64 cover over 5 minutes in line. */
export const MAX_QUEUED_FRAMES = 64

/** The stream's pace, shared by all attempts of one request. */
export interface Pace {
  gapMs: number | undefined
}

export class AttemptTimer {
  readonly signal: AbortSignal
  reason: InferError | undefined
  private readonly controller = new AbortController()
  private timer: ReturnType<typeof setTimeout> | undefined
  private streaming = false
  private cleared = false
  private readonly begun = performance.now()
  private readonly firstTokenMs: number

  constructor(
    private readonly t: AttemptTimeouts,
    private readonly pace: Pace,
    outer: AbortSignal,
    replayTokens: number
  ) {
    this.signal = AbortSignal.any([outer, this.controller.signal])
    this.firstTokenMs = t.firstTokenMs + replayTokens * t.replayMsPerToken
    this.arm(this.firstTokenMs)
  }

  /** The provider says the job still waits for a slot: the first-token clock starts again (bounded). */
  queued(): void {
    if (this.streaming || performance.now() - this.begun >= this.t.maxQueueWaitMs) return
    this.arm(this.firstTokenMs)
  }

  stallMs(): number {
    const gap = this.pace.gapMs
    const adaptive = gap === undefined ? 0 : gap * this.t.stallFactor
    return Math.min(this.t.maxStallMs, Math.max(this.t.minStallMs, adaptive))
  }

  firstToken(): void {
    this.streaming = true
    this.arm(this.stallMs())
  }

  tokenArrived(gapMs: number): void {
    this.pace.gapMs = this.pace.gapMs === undefined ? gapMs : this.pace.gapMs + ALPHA * (gapMs - this.pace.gapMs)
    this.arm(this.stallMs())
  }

  /** While the client is slow to take what we yield, upstream silence is not a stall. */
  pause(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
  }

  resume(): void {
    if (this.streaming) this.arm(this.stallMs())
  }

  clear(): void {
    this.cleared = true
    this.pause()
  }

  private arm(ms: number): void {
    if (this.cleared) return
    if (this.timer) clearTimeout(this.timer)
    const code = this.streaming ? 'stall_timeout' : 'first_token_timeout'
    this.timer = setTimeout(() => {
      this.reason = new InferError(code, `${code.replace(/_/g, ' ')} after ${Math.round(ms)} ms`, 504)
      this.controller.abort(this.reason)
    }, ms)
    this.timer.unref?.()
  }
}
