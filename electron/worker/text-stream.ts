/**
 * Turns generated tokens into text chunks, each carrying the ids of the tokens whose text it
 * holds, so a consumer can continue token-exactly from any chunk boundary:
 * - incomplete UTF-8 (detokenizes to U+FFFD at the end) is held until a later token completes it;
 * - text that could be the start of a stop string is held, always at token boundaries;
 * - a stop string ends the stream; it may span chunk boundaries and, for a continuation, start in
 *   the replayed text (`seedText`).
 */
export interface TextChunk {
  text: string
  tokenIds: number[]
}

/** detokenize(tokens, lastTokens): text of `tokens` as it continues after `lastTokens` */
export type Detokenize = (tokens: number[], lastTokens: number[]) => string

const REPLACEMENT = '\uFFFD'
/** a UTF-8 char has at most 4 bytes; past this many held tokens the text is invalid anyway */
const MAX_PENDING_TOKENS = 8
/** tokens of context given to the detokenizer (spacing rules need a few) */
const CONTEXT_TOKENS = 16

interface Unit {
  text: string
  tokenIds: number[]
}

export class TokenTextStream {
  private readonly stops: string[]
  private readonly maxStop: number
  private context: number[]
  private pending: number[] = []
  private held: Unit[] = []
  /** tail of the text already emitted (plus the seed), for stop strings spanning chunks */
  private tail: string
  stopped = false

  constructor(
    private readonly detokenize: Detokenize,
    stop: string[],
    contextTokens: number[],
    seedText = ''
  ) {
    this.stops = stop.filter((s) => s.length > 0)
    this.maxStop = Math.max(0, ...this.stops.map((s) => s.length))
    this.context = contextTokens.slice(-CONTEXT_TOKENS)
    this.tail = this.trimTail(seedText)
  }

  /** Adds one generated token; returns a chunk when some text became safe to emit. */
  push(token: number): TextChunk | undefined {
    if (this.stopped) return undefined
    this.pending.push(token)
    const text = this.detokenize(this.pending, this.context)
    if (text.endsWith(REPLACEMENT) && this.pending.length < MAX_PENDING_TOKENS) return undefined
    this.held.push({ text, tokenIds: this.pending })
    this.context = [...this.context, ...this.pending].slice(-CONTEXT_TOKENS)
    this.pending = []
    return this.release(false)
  }

  /** End of generation: whatever is still held goes out (incomplete UTF-8 included). */
  finish(): TextChunk | undefined {
    if (this.stopped) return undefined
    if (this.pending.length > 0) {
      this.held.push({ text: this.detokenize(this.pending, this.context), tokenIds: this.pending })
      this.pending = []
    }
    return this.release(true)
  }

  private trimTail(text: string): string {
    return this.maxStop > 1 ? text.slice(-(this.maxStop - 1)) : ''
  }

  private release(final: boolean): TextChunk | undefined {
    const heldText = this.held.map((u) => u.text).join('')
    if (this.stops.length > 0) {
      const window = this.tail + heldText
      const match = this.findStop(window)
      if (match !== undefined) {
        this.stopped = true
        return this.take(Math.max(0, match - this.tail.length), true)
      }
      if (!final) return this.take(this.safeLength(window) - this.tail.length, false)
    }
    return this.take(heldText.length, false)
  }

  /** earliest stop match that ends inside the new text */
  private findStop(window: string): number | undefined {
    let best: number | undefined
    for (const stop of this.stops) {
      let from = Math.max(0, this.tail.length - stop.length + 1)
      for (;;) {
        const at = window.indexOf(stop, from)
        if (at < 0) break
        if (at + stop.length > this.tail.length) {
          if (best === undefined || at < best) best = at
          break
        }
        from = at + 1
      }
    }
    return best
  }

  /** length of the window prefix that cannot be the start of a stop string */
  private safeLength(window: string): number {
    for (let start = Math.max(0, window.length - this.maxStop + 1); start < window.length; start++) {
      const rest = window.slice(start)
      if (this.stops.some((s) => s.startsWith(rest))) return start
    }
    return window.length
  }

  /**
   * Emits whole units covering up to `chars` of the held text; on a stop, the unit that straddles
   * the cut is emitted up to the cut.
   */
  private take(chars: number, cut: boolean): TextChunk | undefined {
    let text = ''
    const tokenIds: number[] = []
    let used = 0
    while (this.held.length > 0) {
      const unit = this.held[0]
      if (text.length + unit.text.length > chars) {
        if (cut && text.length < chars) {
          text += unit.text.slice(0, chars - text.length)
          tokenIds.push(...unit.tokenIds)
          used++
        }
        break
      }
      text += unit.text
      tokenIds.push(...unit.tokenIds)
      this.held.shift()
      used++
    }
    if (cut) this.held = []
    if (used === 0 && text === '') return undefined
    this.tail = this.trimTail(this.tail + text)
    return { text, tokenIds }
  }
}
