import type { InferBody, RequestFrame } from '../../../shared/infer'
import { InferError } from '../../../shared/infer-error'
import type { MeshworkRequest, Usage } from '../../../shared/openai'
import type { AttemptOutcome, NodeEvents } from '../events'
import type { AbortOptions } from '../util/startable'
import type { RequestContext, RouteEvent } from './attempt'
import type { Candidate } from './candidates'
import { failoverEvent, finishedEvent, finishRequest, giveUp } from './request-end'
import type { RetryBudget } from './retry-budget'
import type { RouteRequest } from './router-options'
import { splitRequest } from './route-limits'
import { abandonedOutcome } from './settle'
import { StreamState } from './stream-state'
import type { AttemptTimeouts } from './timeouts'

export interface RunDeps {
  events: NodeEvents
  budget: RetryBudget
  timeouts: AttemptTimeouts
  deadlineMs: number
  retryAfterSeconds?: number
  /** The router's one place to record an outcome (used for an attempt the client walked away from). */
  settle(outcome: AttemptOutcome, candidate: Candidate): void
}

/**
 * One routed request's bookkeeping across its attempts: the stream so far, who failed, the retry
 * budget it holds, and the events that open and close it. The router's loop decides; this records.
 */
export class RequestRun {
  readonly original: InferBody
  readonly wishes: MeshworkRequest
  readonly model: string
  readonly ctx: RequestContext
  /** Providers this request will not try again. */
  readonly exclude = new Set<string>()
  /** Each failed attempt: the provider (its id's tail) and why (for the log when nobody is left). */
  readonly tried: string[] = []
  /** The first failure since the last provider produced a token, and the latest one. */
  private pendingFailover: AttemptOutcome | undefined
  lastFailure: AttemptOutcome | undefined
  /** Every failure so far was a refusal for a full queue. */
  private allBusy = true
  /** The provider whose prompt ids a continuation carries. */
  promptSource: Candidate | undefined
  private readonly deadline: AbortSignal
  private readonly begun = performance.now()
  private readonly summary = {
    ok: false,
    error: undefined as string | undefined,
    ttftMs: undefined as number | undefined,
    usage: undefined as Usage | undefined
  }
  private release = (): void => {}
  private running: { candidate: Candidate; started: number } | undefined
  private readonly endRequest: () => void

  constructor(
    private readonly request: RouteRequest,
    options: AbortOptions,
    private readonly deps: RunDeps
  ) {
    const { call, wishes } = splitRequest(request.call)
    this.original = call
    this.wishes = wishes
    this.model = call.body.model
    this.deadline = AbortSignal.timeout(deps.deadlineMs)
    const signal = AbortSignal.any([options.signal ?? new AbortController().signal, this.deadline])
    this.ctx = {
      id: request.id,
      model: this.model,
      state: new StreamState(call),
      signal,
      pace: { gapMs: undefined },
      timeouts: deps.timeouts,
      clientStarted: false,
      textSent: false,
      lastDeltaAt: this.begun,
      onFirstToken: (candidate, at) => this.firstToken(candidate, at)
    }
    deps.events.emit('request:started', { id: request.id, model: this.model, stream: call.body.stream === true })
    this.endRequest = deps.budget.requestStarted()
  }

  /** The stream so far; replaced whole when the answer starts over. */
  get state(): StreamState {
    return this.ctx.state
  }

  /** Forgets what was received and answers from the original call (see `mayStartOver`). */
  startOver(): InferBody {
    this.ctx.state = this.state.startedOver()
    return this.original
  }

  /** An attempt on `candidate` begins (a failover waits for the retry budget first). */
  async begin(attempt: number, candidate: Candidate): Promise<void> {
    const { state } = this
    this.release = attempt > 1 ? await this.deps.budget.acquire({ signal: this.ctx.signal }) : () => {}
    if (attempt > 1) state.failovers++
    if (!state.providers.includes(candidate.peerId)) state.providers.push(candidate.peerId)
    state.capTo(candidate.contextLength)
    this.deps.events.emit('request:attempt', {
      id: this.request.id,
      provider: candidate.peerId,
      attempt,
      continuation: state.received
    })
    this.running = { candidate, started: performance.now() }
  }

  frame(call: InferBody): RequestFrame {
    const { state } = this
    return {
      type: 'request',
      id: this.request.id,
      queueNotices: true,
      receiptAfterFinal: true,
      call,
      ...(state.received && state.sha256 ? { sha256: state.sha256 } : {})
    }
  }

  /** The attempt is over: true when the request has its answer; throws when it must end here. */
  concluded(outcome: AttemptOutcome, candidate: Candidate): boolean {
    this.running = undefined
    this.release()
    if (outcome.kind === 'ok') return true
    if (outcome.kind === 'cancelled') {
      throw this.deadline.aborted
        ? new InferError('deadline_exceeded', 'the request ran past its deadline', 504)
        : this.ctx.signal.reason
    }
    if (outcome.kind === 'client' && !this.state.received) throw outcome.error
    this.exclude.add(candidate.peerId)
    this.tried.push(
      `${candidate.peerId.slice(-8)}: ${outcome.code ?? outcome.kind} ${outcome.error?.message ?? ''}`.trim()
    )
    if (outcome.kind !== 'refused' || outcome.code !== 'provider_busy') this.allBusy = false
    this.pendingFailover ??= outcome
    this.lastFailure = outcome
    return false
  }

  /**
   * A continuation that cannot be built (no token ids from the provider that failed, a chat) need not
   * fail the request while the client has seen none of its text: it starts over from the original.
   */
  mayStartOver(): boolean {
    return this.original.body.stream !== true || !this.ctx.textSent
  }

  /** Nobody left to try: the error the client should see. */
  noProvider(): Error {
    return giveUp(this.ctx, this.pendingFailover, this.lastFailure, {
      events: this.deps.events,
      retryAfterSeconds: this.deps.retryAfterSeconds,
      allBusy: this.lastFailure !== undefined && this.allBusy
    })
  }

  /** The answer is complete: the held-back tail, then `done`. */
  finish(outcome: AttemptOutcome | undefined, attempt: number): Generator<RouteEvent> {
    const { state } = this
    if (state.promptTokens === undefined && attempt === 1 && outcome?.final?.usage)
      state.promptTokens = outcome.final.usage.prompt_tokens
    const reason =
      outcome === undefined || state.complete
        ? 'length'
        : state.stopped
          ? 'stop'
          : (outcome.final?.finishReason ?? 'stop')
    return finishRequest(this.ctx, this.summary, state.stopped ? 'stop' : reason)
  }

  failed(err: unknown): void {
    this.summary.error = (err as { code?: string }).code ?? 'internal_error'
  }

  /** Always last: give back the budget, settle an attempt the client walked away from, report. */
  close(): void {
    this.release()
    this.endRequest()
    const running = this.running
    if (running)
      this.deps.settle(
        abandonedOutcome(this.request.id, this.model, running.candidate, running.started, this.state.received),
        running.candidate
      )
    this.deps.events.emit(
      'request:finished',
      finishedEvent(this.request.id, this.state, this.summary, performance.now() - this.begun)
    )
  }

  private firstToken(candidate: Candidate, at: number): void {
    this.release()
    this.summary.ttftMs ??= at - this.begun
    this.promptSource ??= candidate
    if (this.state.sha256 === undefined) this.state.sha256 = candidate.sha256
    if (this.pendingFailover !== undefined)
      this.deps.events.emit('request:failover', failoverEvent(this.ctx, this.pendingFailover, candidate.peerId, at))
    this.pendingFailover = undefined
  }
}
