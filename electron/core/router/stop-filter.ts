/**
 * Applies stop strings to the text the client sees, across provider boundaries: after a failover
 * the new provider only sees its own text, so a stop string split across the two would be missed.
 * Text that could be the start of a stop string is held back until it is known not to be.
 */
export class StopFilter {
  private held = ''
  private stopped = false

  constructor(private readonly stops: string[]) {}

  /** Stop strings learnt later (the runtime's chat template); call before text arrives. */
  add(stops: string[]): void {
    for (const s of stops) if (s.length > 0 && !this.stops.includes(s)) this.stops.push(s)
  }

  get done(): boolean {
    return this.stopped
  }

  /** Returns the text that may go out now, and whether a stop string was hit. */
  push(text: string): { text: string; stopped: boolean } {
    if (this.stopped) return { text: '', stopped: true }
    if (this.stops.length === 0) return { text, stopped: false }
    const buffer = this.held + text
    let cut = -1
    for (const stop of this.stops) {
      const at = buffer.indexOf(stop)
      if (at >= 0 && (cut < 0 || at < cut)) cut = at
    }
    if (cut >= 0) {
      this.stopped = true
      this.held = ''
      return { text: buffer.slice(0, cut), stopped: true }
    }
    const keep = this.partialSuffix(buffer)
    this.held = buffer.slice(buffer.length - keep)
    return { text: buffer.slice(0, buffer.length - keep), stopped: false }
  }

  /** The end of the stream: whatever was held back is plain text. */
  flush(): string {
    const out = this.stopped ? '' : this.held
    this.held = ''
    return out
  }

  private partialSuffix(buffer: string): number {
    let longest = 0
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, buffer.length); n > longest; n--) {
        if (buffer.endsWith(stop.slice(0, n))) {
          longest = n
          break
        }
      }
    }
    return longest
  }
}

export function stopList(stop: string | string[] | null | undefined): string[] {
  if (stop === undefined || stop === null) return []
  return (Array.isArray(stop) ? stop : [stop]).filter((s) => s.length > 0)
}
