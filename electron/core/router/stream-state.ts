import type { DeltaFrame, FinalFrame, InferBody } from '../../../shared/infer'
import type { Usage } from '../../../shared/openai'
import type { InferErrorCode } from '../../../shared/infer-error'
import { StopFilter, stopList } from './stop-filter'

/** Tokens a request may produce when it names no limit and the model's context is unknown. */
export const DEFAULT_TOKEN_LIMIT = 32_768
/** Bytes of text a request may produce per token it may produce, and in all. */
const BYTES_PER_TOKEN = 1024
const MAX_STREAM_BYTES = 16 * 1024 * 1024

/**
 * What one routed request has produced so far, across providers: the prompt's token ids, every
 * token id and character received, and the text the client has been given. It builds the
 * continuation call for the next provider (DESIGN §4.5).
 */
export class StreamState {
  promptIds: number[] | undefined
  readonly receivedIds: number[] = []
  receivedText = ''
  /** false once a delta came without token ids: token-exact continuation is impossible. */
  tokensKnown = true
  approximate = false
  sha256: string | undefined
  promptTokens: number | undefined
  readonly providers: string[]
  failovers: number
  private filter: StopFilter
  readonly maxTokens: number | undefined
  /** Tokens this request may produce in all: max_tokens, else the model's context. */
  tokenLimit: number
  /** Tokens received: ids, or deltas where a runtime gives no ids. */
  tokenCount = 0
  private bytes = 0
  /** Stop strings the first runtime added (chat template); the continuation must apply them too. */
  private runtimeStops: string[] = []

  constructor(
    readonly call: InferBody,
    carried: { providers: readonly string[]; failovers: number } = { providers: [], failovers: 0 }
  ) {
    this.providers = [...carried.providers]
    this.failovers = carried.failovers
    this.filter = new StopFilter(stopList(call.body.stop))
    const body = call.body as { max_tokens?: number | null; max_completion_tokens?: number | null }
    // OpenAI's defaults: 16 for a completion, up to the context for a chat (the worker caps it there).
    this.maxTokens = body.max_completion_tokens ?? body.max_tokens ?? (call.api === 'completions' ? 16 : undefined)
    this.tokenLimit = this.maxTokens ?? DEFAULT_TOKEN_LIMIT
  }

  /** A provider's advertised context bounds a request that set no max_tokens. */
  capTo(contextLength: number | undefined): void {
    if (this.maxTokens === undefined && contextLength !== undefined)
      this.tokenLimit = Math.min(this.tokenLimit, contextLength)
  }

  /** Every token the request may have has arrived. */
  get complete(): boolean {
    return this.tokenCount >= this.tokenLimit
  }

  /** Which bound `delta` would break: a runaway provider is cut off here, whatever it was asked. */
  exceeds(delta: DeltaFrame): InferErrorCode | undefined {
    const tokens = delta.tokenIds?.length ?? (delta.text !== '' ? 1 : 0)
    if (this.tokenCount + tokens > this.tokenLimit) return 'token_limit_exceeded'
    const byteLimit = Math.min(MAX_STREAM_BYTES, this.tokenLimit * BYTES_PER_TOKEN)
    if (this.bytes + delta.text.length > byteLimit) return 'byte_limit_exceeded'
    return undefined
  }

  /** Something has been received, so a new provider must continue rather than start over. */
  get received(): boolean {
    return this.receivedIds.length > 0 || this.receivedText.length > 0
  }

  get stopped(): boolean {
    return this.filter.done
  }

  /** Takes one delta; returns the text the client may see now. */
  absorb(delta: DeltaFrame): string {
    if (delta.promptTokenIds && this.promptIds === undefined && !this.received) this.promptIds = delta.promptTokenIds
    if (delta.approximate) this.approximate = true
    if (delta.stop && !this.received) {
      this.runtimeStops = delta.stop
      this.filter.add(delta.stop)
    }
    if (delta.tokenIds) this.receivedIds.push(...delta.tokenIds)
    else if (delta.text !== '') this.tokensKnown = false
    this.tokenCount += delta.tokenIds?.length ?? (delta.text !== '' ? 1 : 0)
    this.bytes += delta.text.length
    this.receivedText += delta.text
    return this.filter.push(delta.text).text
  }

  flush(): string {
    return this.filter.flush()
  }

  /**
   * A fresh state for an answer that starts again from the original call: when no continuation can
   * be built (a provider that gives no token ids, a chat) and the client has seen none of the text.
   * Only the providers and failovers so far carry over.
   */
  startedOver(): StreamState {
    return new StreamState(this.call, { providers: this.providers, failovers: this.failovers })
  }

  /** The call for the next attempt: the original, a token-exact continuation, or 'length' when nothing is left. */
  nextCall(): InferBody | 'length' | 'impossible' {
    if (!this.received) return this.call
    if (this.complete) return 'length'
    const remaining = this.maxTokens === undefined ? undefined : this.maxTokens - this.tokenCount
    const b = this.call.body
    const stops = [...stopList(b.stop), ...this.runtimeStops]
    const sampling = {
      model: b.model,
      temperature: b.temperature,
      top_p: b.top_p,
      top_k: b.top_k,
      min_p: b.min_p,
      seed: b.seed,
      stop: stops.length > 0 ? stops : undefined,
      presence_penalty: b.presence_penalty,
      frequency_penalty: b.frequency_penalty,
      // without a limit a completion would stop at 16 tokens; the worker caps this at its context
      max_tokens: remaining ?? this.tokenLimit - this.tokenCount
    }
    if (this.promptIds !== undefined && this.tokensKnown) {
      return {
        api: 'completions',
        body: {
          ...sampling,
          prompt: [...this.promptIds, ...this.receivedIds],
          replay_tokens: this.receivedIds.length,
          continuation_of:
            this.call.api === 'chat' ? { messages: this.call.body.messages } : { prompt: this.call.body.prompt }
        }
      }
    }
    // Text continuation only for a plain-text completion prompt; marked approximate.
    if (this.call.api === 'completions') {
      const prompt = this.call.body.prompt
      const text =
        typeof prompt === 'string'
          ? prompt
          : Array.isArray(prompt) && typeof prompt[0] === 'string'
            ? prompt[0]
            : undefined
      if (text !== undefined) {
        this.approximate = true
        const left =
          this.maxTokens === undefined ? undefined : Math.max(1, this.maxTokens - Math.max(this.receivedIds.length, 1))
        return {
          api: 'completions',
          body: { ...sampling, ...(left !== undefined ? { max_tokens: left } : {}), prompt: text + this.receivedText }
        }
      }
    }
    return 'impossible'
  }

  usage(final: FinalFrame | undefined): Usage {
    const prompt = this.promptTokens ?? this.promptIds?.length ?? 0
    const completion = this.tokensKnown
      ? this.receivedIds.length
      : Math.min(this.tokenCount, final?.usage?.completion_tokens ?? this.tokenCount)
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
  }
}
