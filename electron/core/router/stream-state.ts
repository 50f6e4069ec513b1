import type { DeltaFrame, FinalFrame, InferBody } from '../../../shared/infer'
import { MAX_PROMPT_TOKENS, type Usage } from '../../../shared/openai'
import { StopFilter, stopList } from './stop-filter'

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
  readonly providers: string[] = []
  failovers = 0
  private readonly filter: StopFilter
  readonly maxTokens: number | undefined
  /** Stop strings the first runtime added (chat template); the continuation must apply them too. */
  private runtimeStops: string[] = []

  constructor(readonly call: InferBody) {
    this.filter = new StopFilter(stopList(call.body.stop))
    const body = call.body as { max_tokens?: number | null; max_completion_tokens?: number | null }
    // OpenAI's defaults: 16 for a completion, up to the context for a chat (the worker caps it there).
    this.maxTokens = body.max_completion_tokens ?? body.max_tokens ?? (call.api === 'completions' ? 16 : undefined)
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
    this.receivedText += delta.text
    return this.filter.push(delta.text).text
  }

  flush(): string {
    return this.filter.flush()
  }

  /** The call for the next attempt: the original, a token-exact continuation, or 'length' when nothing is left. */
  nextCall(): InferBody | 'length' | 'impossible' {
    if (!this.received) return this.call
    const remaining = this.maxTokens === undefined ? undefined : this.maxTokens - this.receivedIds.length
    if (remaining !== undefined && remaining <= 0) return 'length'
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
      max_tokens: remaining ?? MAX_PROMPT_TOKENS
    }
    if (this.promptIds !== undefined && this.tokensKnown) {
      return {
        api: 'completions',
        body: { ...sampling, prompt: [...this.promptIds, ...this.receivedIds], replay_tokens: this.receivedIds.length }
      }
    }
    // Text continuation only for a plain-text completion prompt; marked approximate.
    if (this.call.api === 'completions') {
      const prompt = this.call.body.prompt
      const text = typeof prompt === 'string' ? prompt : Array.isArray(prompt) && typeof prompt[0] === 'string' ? prompt[0] : undefined
      if (text !== undefined) {
        this.approximate = true
        const left = this.maxTokens === undefined ? undefined : Math.max(1, this.maxTokens - Math.max(this.receivedIds.length, 1))
        return { api: 'completions', body: { ...sampling, ...(left !== undefined ? { max_tokens: left } : {}), prompt: text + this.receivedText } }
      }
    }
    return 'impossible'
  }

  usage(final: FinalFrame | undefined): Usage {
    const prompt = this.promptTokens ?? this.promptIds?.length ?? 0
    const completion = this.tokensKnown ? this.receivedIds.length : (final?.usage?.completion_tokens ?? this.receivedIds.length)
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
  }
}
