import type { ReceivedFinal, RequestFrame } from '../../../shared/infer'
import { InferError, toInferError } from '../../../shared/infer-error'
import type { AttemptOutcome } from '../events'
import type { Candidate } from './candidates'
import type { StreamState } from './stream-state'
import { type AttemptTimeouts, AttemptTimer, MAX_QUEUED_FRAMES, type Pace } from './timeouts'
import type { ProviderTransport } from './transport'

import type { MeshworkInfo, Usage } from '../../../shared/openai'

/**
 * What the API sees: `start` once the first token is in (headers may go out), text, then `done`.
 * `restart`: the text so far is void and the answer begins again; it comes only to a request that is
 * not streamed (one collected whole), or before any text.
 */
export type ClientEvent = { type: 'start'; provider: string } | { type: 'text'; text: string } | { type: 'restart' }
export type RouteEvent =
  ClientEvent | { type: 'done'; finishReason: string | null; usage: Usage; meshwork: MeshworkInfo }

export type { AttemptOutcome }

/** What one request shares across its attempts. */
export interface RequestContext {
  id: string
  model: string
  /** The stream so far: RequestRun replaces it whole when the answer starts over. */
  state: StreamState
  pace: Pace
  timeouts: AttemptTimeouts
  signal: AbortSignal
  clientStarted: boolean
  /** Text has gone to the client (a streamed request can no longer start over). */
  textSent: boolean
  lastDeltaAt: number
  /** Called at the first token of an attempt (the failover is over). */
  onFirstToken(candidate: Candidate, at: number): void
}

/**
 * One attempt: sends `frame` to `candidate`, passes text on to the client as it arrives, and
 * returns the outcome. Never throws for a provider's failure; the caller decides what follows.
 */
export async function* runAttempt(
  ctx: RequestContext,
  transport: ProviderTransport,
  candidate: Candidate,
  frame: RequestFrame
): AsyncGenerator<ClientEvent, AttemptOutcome> {
  const { state } = ctx
  const started = performance.now()
  const continuation = state.received
  const timer = new AttemptTimer(ctx.timeouts, ctx.pace, ctx.signal, continuation ? state.receivedIds.length : 0)
  const tally = {
    tokens: 0,
    idsKnown: true,
    promptTokens: undefined as number | undefined,
    firstAt: undefined as number | undefined,
    lastAt: 0,
    queued: 0
  }
  const outcome = (kind: AttemptOutcome['kind'], extra: Partial<AttemptOutcome> = {}): AttemptOutcome => ({
    requestId: ctx.id,
    provider: candidate.peerId,
    local: candidate.local,
    model: ctx.model,
    sha256: candidate.sha256,
    kind,
    tokens: tally.tokens,
    promptTokens: tally.promptTokens,
    ms: performance.now() - started,
    continuation,
    ttftMs: tally.firstAt === undefined ? undefined : tally.firstAt - started,
    tokensPerSecond:
      tally.idsKnown && tally.tokens > 1 && tally.lastAt > tally.firstAt!
        ? ((tally.tokens - 1) * 1000) / (tally.lastAt - tally.firstAt!)
        : undefined,
    ...extra
  })
  let final: ReceivedFinal | undefined
  try {
    for await (const event of transport.open(candidate, frame, {
      signal: timer.signal,
      connectTimeoutMs: ctx.timeouts.connectMs
    })) {
      if (event.type === 'queued') {
        // a wait in line comes before the answer, and says so now and then, not in a flood
        if (tally.firstAt !== undefined || ++tally.queued > MAX_QUEUED_FRAMES)
          throw new InferError('bad_frame', 'the provider sent queued frames after tokens, or too many of them')
        timer.queued()
        continue
      }
      if (event.type === 'accept') {
        if (!candidate.local && event.sha256 !== candidate.sha256)
          throw new InferError('wrong_model_identity', 'the provider accepted with a model other than its advert names')
        continue
      }
      if (event.type === 'final') {
        final = event
        break
      }
      const now = performance.now()
      const hasContent = event.text !== '' || (event.tokenIds?.length ?? 0) > 0
      if (hasContent && tally.firstAt === undefined) {
        tally.firstAt = now
        timer.firstToken()
        ctx.onFirstToken(candidate, now)
      } else if (hasContent) timer.tokenArrived(now - ctx.lastDeltaAt)
      if (hasContent) ctx.lastDeltaAt = tally.lastAt = now
      tally.promptTokens ??= event.promptTokenIds?.length
      if (event.tokenIds) tally.tokens += event.tokenIds.length
      else if (event.text !== '') {
        tally.tokens++
        tally.idsKnown = false
      }
      const limit = state.exceeds(event)
      if (limit !== undefined)
        return outcome(
          'failed',
          failure(new InferError(limit, `the provider streamed past the request's bounds (${limit})`))
        )
      const text = state.absorb(event)
      if (tally.firstAt !== undefined && (!ctx.clientStarted || text !== '')) {
        timer.pause()
        if (!ctx.clientStarted) {
          ctx.clientStarted = true
          yield { type: 'start', provider: candidate.peerId }
        }
        if (text !== '') {
          ctx.textSent = true
          yield { type: 'text', text }
        }
        timer.resume()
      }
      if (state.stopped) break
    }
  } catch (err) {
    if (ctx.signal.aborted) return outcome('cancelled', { code: 'cancelled' })
    const e = toInferError(timer.reason ?? err)
    if (e.kind === 'refused') return outcome('refused', { code: e.code, error: e })
    if (e.kind === 'client') return outcome('client', { code: e.code, error: e })
    return outcome('failed', failure(e))
  } finally {
    timer.clear()
  }
  if (final === undefined && !state.stopped) {
    return outcome('failed', failure(new InferError('provider_stream_ended', 'the stream ended without a final frame')))
  }
  return outcome('ok', { final })
}

function failure(error: InferError): Partial<AttemptOutcome> {
  const kind = error.kind === 'refused' || error.kind === 'client' ? 'runtime' : error.kind
  return { code: error.code, failure: kind, error }
}
