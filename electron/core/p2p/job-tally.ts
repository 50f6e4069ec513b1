import type { DeltaFrame, FinalFrame, InferBody, RequestFrame } from '../../../shared/infer'
import type { ServedJob } from '../../../shared/receipt'

/** Tokens a job may produce when its request names no limit and the model's context is unknown. */
const DEFAULT_OUTPUT_LIMIT = 32_768

/** What the request lets the runtime produce: max_tokens, else the model's context. */
export function outputLimit(call: InferBody, contextLength: number | undefined): number {
  const body = call.body as { max_tokens?: number | null; max_completion_tokens?: number | null }
  const asked = body.max_completion_tokens ?? body.max_tokens ?? (call.api === 'completions' ? 16 : undefined)
  return asked ?? contextLength ?? DEFAULT_OUTPUT_LIMIT
}

/**
 * One job's count of what the provider delivered, for its receipt (tokens as the consumer counts
 * them: ids, else text deltas) and for the 'job:served' event (token ids the runtime reported).
 */
export class JobTally {
  /** `settled`: the job has its receipt (recorded here), so it is not one cut short. */
  readonly served: ServedJob & { settled: boolean }
  readonly event: {
    id: string
    model: string
    consumer: string
    promptTokens: number
    completionTokens: number
    ok: boolean
  }
  private readonly limit: number

  constructor(
    request: RequestFrame,
    consumer: string,
    model: { name: string; sha256: string; contextLength?: number }
  ) {
    this.served = {
      jobId: request.id,
      consumer,
      model: model.name,
      sha256: model.sha256,
      promptTokens: 0,
      completionTokens: 0,
      startedAt: Date.now(),
      endedAt: 0,
      settled: false
    }
    this.event = {
      id: request.id,
      model: request.call.body.model,
      consumer,
      promptTokens: 0,
      completionTokens: 0,
      ok: false
    }
    this.limit = outputLimit(request.call, model.contextLength)
  }

  /** Whether `delta` would take the job past what the request allows (a runtime that ignores max_tokens). */
  wouldExceed(delta: DeltaFrame): boolean {
    return this.served.completionTokens + (delta.tokenIds?.length ?? (delta.text !== '' ? 1 : 0)) > this.limit
  }

  delta(delta: DeltaFrame): void {
    this.event.completionTokens += delta.tokenIds?.length ?? 0
    this.served.completionTokens += delta.tokenIds?.length ?? (delta.text !== '' ? 1 : 0)
    this.served.promptTokens ||= delta.promptTokenIds?.length ?? 0
  }

  final(final: FinalFrame): void {
    if (final.usage) {
      this.event.promptTokens = final.usage.prompt_tokens
      this.event.completionTokens = final.usage.completion_tokens
    }
    this.served.promptTokens = final.usage?.prompt_tokens ?? this.served.promptTokens
    this.served.completionTokens ||= final.usage?.completion_tokens ?? 0
  }
}
