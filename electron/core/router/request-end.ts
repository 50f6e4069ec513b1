import { InferError } from '../../../shared/infer-error'
import type { MeshworkInfo, Usage } from '../../../shared/openai'
import type { AttemptOutcome, NodeEventMap } from '../events'
import { NoProviderError, ProvidersBusyError } from '../util/errors'
import type { RequestContext, RouteEvent } from './attempt'

/** The end of a request that got its answer: the held-back tail, then `done`. */
export function* finishRequest(
  ctx: RequestContext,
  summary: { ok: boolean; usage?: Usage },
  finishReason: string | null
): Generator<RouteEvent> {
  const { state } = ctx
  const tail = state.flush()
  if (!ctx.clientStarted) {
    ctx.clientStarted = true
    yield { type: 'start', provider: state.providers.at(-1) ?? '' }
  }
  if (tail !== '') yield { type: 'text', text: tail }
  summary.usage = state.usage(undefined)
  // before the yield: a consumer that stops iterating at `done` never resumes this generator
  summary.ok = true
  const meshwork: MeshworkInfo = { providers: [...state.providers], failovers: state.failovers }
  if (state.approximate) meshwork.approximate = true
  yield { type: 'done', finishReason, usage: summary.usage, meshwork }
}

/** The failover a client saw: from whom, to whom (none when nobody could take over), and the gap. */
export function failoverEvent(
  ctx: RequestContext,
  from: AttemptOutcome,
  to: string | undefined,
  at?: number
): NodeEventMap['request:failover'][0] {
  return {
    id: ctx.id,
    from: from.provider,
    to,
    reason: from.code ?? from.kind,
    emittedTokens: ctx.state.tokenCount,
    gapMs: at === undefined ? undefined : Math.round(at - ctx.lastDeltaAt),
    approximate: (to !== undefined && ctx.state.approximate) || undefined
  }
}

/** No provider is left: the error the client should see. */
export function giveUp(
  ctx: RequestContext,
  pendingFailover: AttemptOutcome | undefined,
  lastFailure: AttemptOutcome | undefined,
  options: {
    events: { emit(name: 'request:failover', event: NodeEventMap['request:failover'][0]): unknown }
    retryAfterSeconds?: number
    /** Every attempt was refused for a full queue. */
    allBusy?: boolean
  }
): Error {
  if (pendingFailover) options.events.emit('request:failover', failoverEvent(ctx, pendingFailover, undefined))
  if (lastFailure?.kind === 'client' && lastFailure.error) return lastFailure.error
  if (ctx.state.received)
    return new InferError(
      'provider_error',
      `no provider could continue the stream (${lastFailure?.error?.message ?? 'none left'})`,
      502
    )
  const retryAfter = options.retryAfterSeconds ?? 5
  return options.allBusy === true
    ? new ProvidersBusyError(ctx.model, retryAfter)
    : new NoProviderError(ctx.model, retryAfter)
}

/** What a finished request reports (dashboard, metrics, stats), ok or not. */
export function finishedEvent(
  id: string,
  state: RequestContext['state'],
  summary: { ok: boolean; error?: string; usage?: Usage; ttftMs?: number },
  latencyMs: number
): NodeEventMap['request:finished'][0] {
  return {
    id,
    providers: [...state.providers],
    failovers: state.failovers,
    ok: summary.ok,
    error: summary.ok ? undefined : (summary.error ?? 'cancelled'),
    latencyMs,
    promptTokens: summary.usage?.prompt_tokens,
    completionTokens: summary.usage?.completion_tokens,
    ttftMs: summary.ttftMs
  }
}
