import type { InferBody, RequestFrame } from '../../../shared/infer'
import { InferError } from '../../../shared/infer-error'
import type { MeshworkInfo, Usage } from '../../../shared/openai'
import type { NodeEvents } from '../events'
import type { PeerTable } from '../p2p/peer-table'
import { ModelNotFoundError, NoProviderError } from '../util/errors'
import type { Logger } from '../util/logger'
import type { AbortOptions } from '../util/startable'
import { type AttemptOutcome, type ClientEvent, type RequestContext, runAttempt } from './attempt'
import { relayLimitReason, relayNeed } from '../p2p/reachability-connection'
import { type Candidate, type LocalRuntimeSource, localCandidate, remoteCandidates } from './candidates'
import { ProviderRecords } from './provider-records'
import { type PromptPolicy, mayReceivePrompt, splitRequest } from './route-limits'
import { RetryBudget } from './retry-budget'
import { type RoutingPolicy, pick, priceWeights, score } from './scoring'
import { PriceExceededError } from '../earnings/errors'
import { type MaxPrice, tighterMax, withinMax } from '../../../shared/price'
import { StreamState } from './stream-state'
import { type AttemptTimeouts, DEFAULT_TIMEOUTS } from './timeouts'
import { MeshTransport, type ProviderTransport } from './transport'
import { RecordTrust, type TrustSource } from './trust-source'

export interface RouteRequest {
  id: string
  call: InferBody
}

/** What the API sees: `start` once the first token is in (headers may go out), text, then `done`. */
export type RouteEvent = ClientEvent | { type: 'done'; finishReason: string | null; usage: Usage; meshwork: MeshworkInfo }

export interface RouterOptions {
  peers: PeerTable
  /** Reaches providers; default: libp2p infer streams, and the local runtime directly. */
  transport?: ProviderTransport
  /** Dials providers for the default transport; omitted on a node without libp2p. */
  libp2p?: ConstructorParameters<typeof MeshTransport>[0]
  local?: LocalRuntimeSource
  /** Where the owner lets prompts go. */
  promptPolicy?: PromptPolicy
  /** This node's trust in providers; default: from the router's own records. */
  trust?: TrustSource
  events: NodeEvents
  logger: Logger
  policy?: RoutingPolicy
  timeouts?: Partial<AttemptTimeouts>
  /** Attempts per request, first one included. */
  maxAttempts?: number
  /** Longest a request may take in all, failovers included. */
  requestDeadlineMs?: number
  retryBudget?: RetryBudget
  records?: ProviderRecords
  /** Seconds a 503 tells clients to wait. */
  retryAfterSeconds?: number
  /** The most this node pays (config); a request's `meshwork.maxPrice` can only lower it. */
  maxPrice?: MaxPrice
}

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
    return r !== undefined && this.records.ejectedFor(peerId) > 0 ? `skipped for a while after ${r.lastFailure?.code ?? 'a failure'}` : undefined
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
    const summary = { ok: false, error: undefined as string | undefined, ttftMs: undefined as number | undefined, usage: undefined as Usage | undefined }
    /** The first failure since the last provider produced a token, and the latest one. */
    let pendingFailover: AttemptOutcome | undefined
    let lastFailure: AttemptOutcome | undefined
    let release = (): void => {}
    let running: { candidate: Candidate; started: number } | undefined
    const ctx: RequestContext = {
      id: request.id, model, state, signal, pace: { gapMs: undefined }, timeouts: this.timeouts, clientStarted: false, lastDeltaAt: begun,
      onFirstToken: (candidate, at) => {
        release()
        summary.ttftMs ??= at - begun
        if (state.sha256 === undefined) state.sha256 = candidate.sha256
        if (pendingFailover !== undefined) this.emitFailover(ctx, pendingFailover, candidate.peerId, at)
        pendingFailover = undefined
      }
    }
    this.options.events.emit('request:started', { id: request.id, model, stream: original.body.stream === true })
    const endRequest = this.budget.requestStarted()
    try {
      if (!this.knownModels().has(model)) throw new ModelNotFoundError(model)
      for (let attempt = 1; ; attempt++) {
        const call = state.nextCall()
        if (call === 'length') break
        const allowed = (c: Candidate): boolean =>
          !exclude.has(c.peerId) && mayReceivePrompt(c, this.options.promptPolicy ?? {}, wishes) && withinMax(c.price ?? FREE, maxPrice) && this.withinRelayLimits(c, call)
        const candidate = attempt > (this.options.maxAttempts ?? 6) ? undefined : this.select(model, allowed, state)
        if (candidate === undefined && lastFailure === undefined && maxPrice !== undefined && this.candidates(model).some((c) => !withinMax(c.price ?? FREE, maxPrice))) {
          throw new PriceExceededError(model, maxPrice)
        }
        if (candidate === undefined || call === 'impossible') throw this.giveUp(ctx, pendingFailover, lastFailure)
        release = attempt > 1 ? await this.budget.acquire({ signal }) : () => {}
        if (attempt > 1) state.failovers++
        if (!state.providers.includes(candidate.peerId)) state.providers.push(candidate.peerId)
        state.capTo(candidate.contextLength)
        this.options.events.emit('request:attempt', { id: request.id, provider: candidate.peerId, attempt, continuation: state.received })
        running = { candidate, started: performance.now() }
        this.inflight.set(candidate.peerId, (this.inflight.get(candidate.peerId) ?? 0) + 1)
        const outcome = yield* runAttempt(ctx, this.transport, candidate, this.frame(request.id, call, state))
        running = undefined
        this.leave(candidate.peerId)
        release()
        this.settle(outcome, candidate)
        if (outcome.kind === 'ok') {
          if (state.promptTokens === undefined && attempt === 1 && outcome.final?.usage) state.promptTokens = outcome.final.usage.prompt_tokens
          yield* this.finish(ctx, summary, state.stopped ? 'stop' : state.complete ? 'length' : (outcome.final?.finishReason ?? 'stop'))
          return
        }
        if (outcome.kind === 'cancelled') throw deadline.aborted ? new InferError('deadline_exceeded', 'the request ran past its deadline', 504) : signal.reason
        if (outcome.kind === 'client' && !state.received) throw outcome.error
        exclude.add(candidate.peerId)
        pendingFailover ??= outcome
        lastFailure = outcome
      }
      yield* this.finish(ctx, summary, 'length')
    } catch (err) {
      summary.error = (err as { code?: string }).code ?? 'internal_error'
      throw err
    } finally {
      release()
      endRequest()
      if (running) this.leave(running.candidate.peerId)
      if (running) this.settle({ requestId: request.id, provider: running.candidate.peerId, local: running.candidate.local, model, kind: 'cancelled', code: 'cancelled', tokens: 0, ms: performance.now() - running.started, continuation: state.received }, running.candidate)
      this.options.events.emit('request:finished', {
        id: request.id, providers: [...state.providers], failovers: state.failovers, ok: summary.ok, error: summary.ok ? undefined : (summary.error ?? 'cancelled'),
        latencyMs: performance.now() - begun, promptTokens: summary.usage?.prompt_tokens, completionTokens: summary.usage?.completion_tokens, ttftMs: summary.ttftMs
      })
    }
  }

  /** Closes the warm streams kept to providers. */
  stop(): void {
    this.transport.close?.()
  }

  private frame(id: string, call: InferBody, state: StreamState): RequestFrame {
    return { type: 'request', id, call, ...(state.received && state.sha256 ? { sha256: state.sha256 } : {}) }
  }

  /** The end of a request that got its answer: the held-back tail, then `done`. */
  private *finish(ctx: RequestContext, summary: { ok: boolean; usage?: Usage }, finishReason: string | null): Generator<RouteEvent> {
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

  /** One place where an attempt's outcome updates the records, the peer table and the events. */
  private settle(outcome: AttemptOutcome, candidate: Candidate): void {
    const peerId = candidate.peerId
    if (outcome.ttftMs !== undefined || outcome.tokensPerSecond !== undefined) this.records.observe(peerId, outcome)
    if (outcome.kind === 'ok') this.records.success(peerId)
    else if (outcome.kind === 'refused') this.records.refused(peerId, outcome.code ?? 'refused', outcome.code === 'provider_paused' ? 10_000 : 1_000)
    else if (outcome.kind === 'failed' && outcome.failure !== undefined) {
      const ejectMs = this.records.failure(peerId, outcome.failure, outcome.code ?? 'failed')
      this.log.info('attempt failed, failing over', { id: outcome.requestId, provider: peerId, code: outcome.code, message: outcome.error?.message.slice(0, 200), emittedTokens: outcome.tokens, ejectMs })
      const gone = outcome.failure === 'connect' || (outcome.failure === 'closed' && this.transport.connected?.(peerId) === false)
      if (gone && !candidate.local) this.options.peers.markDead(peerId, `infer: ${outcome.code}`)
    }
    this.options.events.emit('attempt:settled', outcome)
  }

  private emitFailover(ctx: RequestContext, from: AttemptOutcome, to: string | undefined, at?: number): void {
    this.options.events.emit('request:failover', {
      id: ctx.id, from: from.provider, to, reason: from.code ?? from.kind, emittedTokens: ctx.state.tokenCount,
      gapMs: at === undefined ? undefined : Math.round(at - ctx.lastDeltaAt), approximate: (to !== undefined && ctx.state.approximate) || undefined
    })
  }

  private leave(peerId: string): void {
    const n = (this.inflight.get(peerId) ?? 1) - 1
    if (n > 0) this.inflight.set(peerId, n)
    else this.inflight.delete(peerId)
  }

  /** No provider is left: say why, as the client should see it. */
  private giveUp(ctx: RequestContext, pendingFailover: AttemptOutcome | undefined, lastFailure: AttemptOutcome | undefined): Error {
    if (pendingFailover) this.emitFailover(ctx, pendingFailover, undefined)
    if (lastFailure?.kind === 'client' && lastFailure.error) return lastFailure.error
    if (ctx.state.received) return new InferError('provider_error', `no provider could continue the stream (${lastFailure?.error?.message ?? 'none left'})`, 502)
    return new NoProviderError(ctx.model, this.options.retryAfterSeconds ?? 5)
  }

  private select(model: string, allowed: (c: Candidate) => boolean, state: StreamState): Candidate | undefined {
    const sameModel = (c: Candidate): boolean => !state.received || state.sha256 === undefined || c.sha256 === state.sha256
    const all = this.candidates(model).filter((c) => allowed(c) && sameModel(c) && this.trust.excludedReason(c.peerId) === undefined)
    const ready = all.filter((c) => this.records.ejectedFor(c.peerId) === 0)
    const priceWeight = priceWeights(ready)
    const scoreOf = (c: Candidate): number => score(c, this.records, this.inflight.get(c.peerId) ?? 0, this.trust.trust(c.peerId)) * priceWeight(c)
    if (ready.length > 0) return pick(ready, scoreOf, this.options.policy)
    // Everyone left is ejected after recent failures: try the one whose ejection ends first rather than fail (panic routing).
    return all.sort((a, b) => this.records.ejectedFor(a.peerId) - this.records.ejectedFor(b.peerId))[0]
  }

  /** A job runs over a relayed connection only when it fits what the relay still allows. */
  private withinRelayLimits(c: Candidate, call: InferBody | 'impossible'): boolean {
    if (c.connection !== 'relayed' || call === 'impossible') return true
    const record = this.records.get(c.peerId)
    const speed = { tokensPerSecond: record.tokensPerSecond ?? c.decodeTokensPerSecond, ttftMs: record.ttftMs ?? c.ttftMs }
    const reason = relayLimitReason(this.transport.relayBudget?.(c.peerId), relayNeed(call, speed))
    if (reason !== undefined) this.log.info('provider skipped: over the relay limits', { provider: c.peerId, reason })
    return reason === undefined
  }
}

export function createRouter(options: RouterOptions): Router {
  return new Router(options)
}
