import type { InferBody, RequestFrame } from '../../../shared/infer'
import { InferError } from '../../../shared/infer-error'
import type { Usage } from '../../../shared/openai'
import { ModelNotFoundError } from '../util/errors'
import type { Logger } from '../util/logger'
import type { AbortOptions } from '../util/startable'
import { type AttemptOutcome, type RequestContext, type RouteEvent, runAttempt } from './attempt'
import { failoverEvent, finishedEvent, finishRequest, giveUp } from './request-end'
import { abandonedOutcome, settleOutcome } from './settle'
import { type Candidate, localCandidate, remoteCandidates } from './candidates'
import { ProviderRecords } from './provider-records'
import { checkFitsContext, mayReceivePrompt, splitRequest } from './route-limits'
import { RetryBudget } from './retry-budget'
import { PriceExceededError } from '../earnings/errors'
import { tighterMax, withinMax } from '../../../shared/price'
import { StreamState } from './stream-state'
import { type AttemptTimeouts, DEFAULT_TIMEOUTS } from './timeouts'
import { MeshTransport, type ProviderTransport } from './transport'
import { RecordTrust, type TrustSource } from './trust-source'

export { routerTrust } from './trust-source'
import type { RouteRequest, RouterOptions } from './router-options'
import { relayRefusal, sameModel, selectProvider } from './selection'

export type { RouteRequest, RouterOptions }

export type { RouteEvent }

const FREE = { prompt: 0, completion: 0 }

export class Router {
  readonly records: ProviderRecords
  readonly budget: RetryBudget
  readonly trust: TrustSource
  private readonly transport: ProviderTransport
  private readonly inflight = new Map<string, number>()
  private readonly timeouts: AttemptTimeouts
  private readonly log: Logger

  constructor(private readonly options: RouterOptions) {
    this.records = options.records ?? new ProviderRecords()
    this.budget = options.retryBudget ?? new RetryBudget()
    this.trust = options.trust ?? new RecordTrust(this.records)
    this.transport = options.transport ?? new MeshTransport(options.libp2p, options.local)
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts }
    this.log = options.logger.child('router')
  }

  /** Model names with a provider anywhere in the mesh (or here), live or not. */
  knownModels(): Set<string> {
    const names = new Set(this.options.peers.knownModels())
    for (const m of this.options.local?.runtime()?.models() ?? []) names.add(m.name)
    return names
  }

  candidates(model: string): Candidate[] {
    const list = remoteCandidates(this.options.peers, model, this.options.local?.peerId).map((c) => ({
      ...c,
      connection: this.transport.connectionKind?.(c.peerId)
    }))
    const local = localCandidate(this.options.local, model)
    return local ? [local, ...list] : list
  }

  /** Why the router will not use a provider right now (trust, or a recent failure), if it will not. */
  excludedReason(peerId: string): string | undefined {
    const reason = this.trust.excludedReason(peerId)
    if (reason !== undefined) return reason
    const r = this.records.peek(peerId)
    return r !== undefined && this.records.ejectedFor(peerId) > 0
      ? `skipped for a while after ${r.lastFailure?.code ?? 'a failure'}`
      : undefined
  }

  /**
   * Routes one request as a series of attempts, failing over until one finishes. Errors before the
   * first token are thrown from the first `next()` (the API can still answer with a status); later
   * ones end the stream with a throw.
   */
  async *route(request: RouteRequest, options: AbortOptions = {}): AsyncGenerator<RouteEvent> {
    const { call: original, wishes } = splitRequest(request.call)
    const model = original.body.model
    const deadline = AbortSignal.timeout(this.options.requestDeadlineMs ?? 600_000)
    const signal = AbortSignal.any([options.signal ?? new AbortController().signal, deadline])
    const begun = performance.now()
    const state = new StreamState(original)
    const maxPrice = tighterMax(this.options.maxPrice, wishes.maxPrice)
    const exclude = new Set<string>()
    const summary = {
      ok: false,
      error: undefined as string | undefined,
      ttftMs: undefined as number | undefined,
      usage: undefined as Usage | undefined
    }
    /** The first failure since the last provider produced a token, and the latest one. */
    let pendingFailover: AttemptOutcome | undefined
    let lastFailure: AttemptOutcome | undefined
    let release = (): void => {}
    /** The provider whose prompt ids a continuation carries. */
    let promptSource: Candidate | undefined
    let running: { candidate: Candidate; started: number } | undefined
    const ctx: RequestContext = {
      id: request.id,
      model,
      state,
      signal,
      pace: { gapMs: undefined },
      timeouts: this.timeouts,
      clientStarted: false,
      lastDeltaAt: begun,
      onFirstToken: (candidate, at) => {
        release()
        summary.ttftMs ??= at - begun
        promptSource ??= candidate
        if (state.sha256 === undefined) state.sha256 = candidate.sha256
        if (pendingFailover !== undefined)
          this.options.events.emit('request:failover', failoverEvent(ctx, pendingFailover, candidate.peerId, at))
        pendingFailover = undefined
      }
    }
    this.options.events.emit('request:started', { id: request.id, model, stream: original.body.stream === true })
    const endRequest = this.budget.requestStarted()
    try {
      if (!this.knownModels().has(model)) throw new ModelNotFoundError(model)
      checkFitsContext(original, this.candidates(model))
      for (let attempt = 1; ; attempt++) {
        const call = state.nextCall()
        if (call === 'length') break
        const allowed = (c: Candidate): boolean =>
          !exclude.has(c.peerId) &&
          mayReceivePrompt(c, this.options.promptPolicy ?? {}, wishes) &&
          withinMax(c.price ?? FREE, maxPrice) &&
          this.withinRelayLimits(c, call)
        const candidate = attempt > (this.options.maxAttempts ?? 6) ? undefined : this.select(model, allowed, state)
        if (
          candidate === undefined &&
          lastFailure === undefined &&
          maxPrice !== undefined &&
          this.candidates(model).some((c) => !withinMax(c.price ?? FREE, maxPrice))
        ) {
          throw new PriceExceededError(model, maxPrice)
        }
        if (candidate === undefined || call === 'impossible')
          throw giveUp(ctx, pendingFailover, lastFailure, this.options)
        release = attempt > 1 ? await this.budget.acquire({ signal }) : () => {}
        if (attempt > 1) state.failovers++
        if (!state.providers.includes(candidate.peerId)) state.providers.push(candidate.peerId)
        state.capTo(candidate.contextLength)
        this.options.events.emit('request:attempt', {
          id: request.id,
          provider: candidate.peerId,
          attempt,
          continuation: state.received
        })
        running = { candidate, started: performance.now() }
        this.inflight.set(candidate.peerId, (this.inflight.get(candidate.peerId) ?? 0) + 1)
        const outcome = yield* runAttempt(ctx, this.transport, candidate, this.frame(request.id, call, state))
        running = undefined
        this.leave(candidate.peerId)
        release()
        this.settle(outcome, candidate)
        // the next provider found the prompt ids planted: the provider that reported them lied
        if (outcome.code === 'continuation_mismatch' && promptSource !== undefined)
          this.records.failure(promptSource.peerId, 'protocol', 'planted_prompt')
        if (outcome.kind === 'ok') {
          if (state.promptTokens === undefined && attempt === 1 && outcome.final?.usage)
            state.promptTokens = outcome.final.usage.prompt_tokens
          yield* finishRequest(
            ctx,
            summary,
            state.stopped ? 'stop' : state.complete ? 'length' : (outcome.final?.finishReason ?? 'stop')
          )
          return
        }
        if (outcome.kind === 'cancelled')
          throw deadline.aborted
            ? new InferError('deadline_exceeded', 'the request ran past its deadline', 504)
            : signal.reason
        if (outcome.kind === 'client' && !state.received) throw outcome.error
        exclude.add(candidate.peerId)
        pendingFailover ??= outcome
        lastFailure = outcome
      }
      yield* finishRequest(ctx, summary, 'length')
    } catch (err) {
      summary.error = (err as { code?: string }).code ?? 'internal_error'
      throw err
    } finally {
      release()
      endRequest()
      if (running) this.leave(running.candidate.peerId)
      if (running)
        this.settle(
          abandonedOutcome(request.id, model, running.candidate, running.started, state.received),
          running.candidate
        )
      this.options.events.emit('request:finished', finishedEvent(request.id, state, summary, performance.now() - begun))
    }
  }

  /** Closes the warm streams kept to providers. */
  stop(): void {
    this.transport.close?.()
  }

  private frame(id: string, call: InferBody, state: StreamState): RequestFrame {
    return { type: 'request', id, call, ...(state.received && state.sha256 ? { sha256: state.sha256 } : {}) }
  }

  private settle(outcome: AttemptOutcome, candidate: Candidate): void {
    const { peers, events } = this.options
    settleOutcome(outcome, candidate, {
      records: this.records,
      peers,
      events,
      transport: this.transport,
      log: this.log
    })
  }

  private leave(peerId: string): void {
    const n = (this.inflight.get(peerId) ?? 1) - 1
    if (n > 0) this.inflight.set(peerId, n)
    else this.inflight.delete(peerId)
  }

  private select(model: string, allowed: (c: Candidate) => boolean, state: StreamState): Candidate | undefined {
    const all = this.candidates(model).filter(
      (c) => allowed(c) && sameModel(c, state) && this.trust.excludedReason(c.peerId) === undefined
    )
    return selectProvider(all, {
      records: this.records,
      trust: this.trust,
      inflight: this.inflight,
      policy: this.options.policy
    })
  }

  /** A job runs over a relayed connection only when it fits what the relay still allows. */
  private withinRelayLimits(c: Candidate, call: InferBody | 'impossible'): boolean {
    if (c.connection !== 'relayed' || call === 'impossible') return true
    const reason = relayRefusal(c, call, this.records, this.transport)
    if (reason !== undefined) this.log.info('provider skipped: over the relay limits', { provider: c.peerId, reason })
    return reason === undefined
  }
}

export function createRouter(options: RouterOptions): Router {
  return new Router(options)
}
