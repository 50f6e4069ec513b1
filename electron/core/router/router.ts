import type { InferBody } from '../../../shared/infer'
import { ModelNotFoundError } from '../util/errors'
import type { Logger } from '../util/logger'
import type { AbortOptions } from '../util/startable'
import { type AttemptOutcome, type RouteEvent, runAttempt } from './attempt'
import { RequestRun, type RunDeps } from './request-run'
import { settleOutcome } from './settle'
import { type Candidate, localCandidate, remoteCandidates } from './candidates'
import { ProviderRecords } from './provider-records'
import { checkFitsContext, mayReceivePrompt } from './route-limits'
import { RetryBudget } from './retry-budget'
import { PriceExceededError } from '../earnings/errors'
import { tighterMax, withinMax } from '../../../shared/price'
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
  private readonly runDeps: RunDeps

  constructor(private readonly options: RouterOptions) {
    this.records = options.records ?? new ProviderRecords()
    this.budget = options.retryBudget ?? new RetryBudget()
    this.trust = options.trust ?? new RecordTrust(this.records)
    this.transport = options.transport ?? new MeshTransport(options.libp2p, options.local)
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts }
    this.log = options.logger.child('router')
    this.runDeps = {
      events: options.events,
      budget: this.budget,
      timeouts: this.timeouts,
      deadlineMs: options.requestDeadlineMs ?? 600_000,
      retryAfterSeconds: options.retryAfterSeconds,
      settle: (outcome, candidate) => this.settle(outcome, candidate)
    }
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
    const run = new RequestRun(request, options, this.runDeps)
    try {
      if (!this.knownModels().has(run.model)) throw new ModelNotFoundError(run.model)
      checkFitsContext(run.original, this.candidates(run.model))
      for (let attempt = 1; ; attempt++) {
        let call = run.state.nextCall()
        if (call === 'length') return yield* run.finish(undefined, attempt)
        if (call === 'impossible' && run.mayStartOver()) {
          call = run.startOver()
          yield { type: 'restart' }
        }
        const candidate = attempt > (this.options.maxAttempts ?? 6) ? undefined : this.select(run, call)
        if (candidate === undefined || call === 'impossible') throw this.noProvider(run, call === 'impossible')
        await run.begin(attempt, candidate)
        this.inflight.set(candidate.peerId, (this.inflight.get(candidate.peerId) ?? 0) + 1)
        let outcome: AttemptOutcome
        try {
          outcome = yield* runAttempt(run.ctx, this.transport, candidate, run.frame(call))
        } finally {
          this.leave(candidate.peerId)
        }
        this.settle(outcome, candidate)
        // the next provider found the prompt ids planted: the provider that reported them lied
        if (outcome.code === 'continuation_mismatch' && run.promptSource !== undefined)
          this.records.failure(run.promptSource.peerId, 'protocol', 'planted_prompt')
        if (run.concluded(outcome, candidate)) return yield* run.finish(outcome, attempt)
      }
    } catch (err) {
      run.failed(err)
      throw err
    } finally {
      run.close()
    }
  }

  /** Closes the warm streams kept to providers. */
  stop(): void {
    this.transport.close?.()
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

  /** The best provider this request may still use, within its price and the relay's limits. */
  private select(run: RequestRun, call: InferBody | 'impossible'): Candidate | undefined {
    const all = this.candidates(run.model).filter((c) => this.unusable(run, c, call) === undefined)
    return selectProvider(all, {
      records: this.records,
      trust: this.trust,
      inflight: this.inflight,
      policy: this.options.policy
    })
  }

  /** Why this request cannot use `c` now, if it cannot. */
  private unusable(run: RequestRun, c: Candidate, call: InferBody | 'impossible'): string | undefined {
    if (run.exclude.has(c.peerId)) return 'tried'
    if (!mayReceivePrompt(c, this.options.promptPolicy ?? {}, run.wishes)) return 'prompt policy'
    if (!withinMax(c.price ?? FREE, tighterMax(this.options.maxPrice, run.wishes.maxPrice))) return 'price'
    if (!this.withinRelayLimits(c, call)) return 'relay limits'
    if (!sameModel(c, run.state)) return 'other model build'
    return this.trust.excludedReason(c.peerId)
  }

  /** 402 when only the price stood in the way of a first attempt; else why nobody is left. */
  private noProvider(run: RequestRun, noContinuation = false): Error {
    const maxPrice = tighterMax(this.options.maxPrice, run.wishes.maxPrice)
    const priced =
      maxPrice !== undefined && this.candidates(run.model).some((c) => !withinMax(c.price ?? FREE, maxPrice))
    if (run.lastFailure === undefined && priced) return new PriceExceededError(run.model, maxPrice)
    const err = run.noProvider()
    // the attempts and why no one else could take over: a give-up mid-stream is rare and worth a line
    if (run.state.received)
      this.log.warn('no provider could continue the stream', {
        id: run.ctx.id,
        model: run.model,
        tokens: run.state.tokenCount,
        tried: run.tried,
        continuation: noContinuation ? 'impossible: no token ids to resume from, and the client has text' : undefined,
        others: this.candidates(run.model).map(
          (c) => `${c.peerId.slice(-8)}: ${this.unusable(run, c, 'impossible') ?? 'usable'}`
        )
      })
    return err
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
