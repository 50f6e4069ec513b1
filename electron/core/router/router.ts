import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { AcceptFrame, DeltaFrame, FinalFrame, InferBody, RequestFrame } from '../../../shared/infer'
import type { MeshworkInfo, Usage } from '../../../shared/openai'
import type { NodeEvents } from '../events'
import { InferDialer } from '../p2p/infer-dialer'
import { openInfer } from '../p2p/infer-protocol'
import type { PeerTable } from '../p2p/peer-table'
import { ModelNotFoundError, NoProviderError } from '../util/errors'
import type { Logger } from '../util/logger'
import type { AbortOptions } from '../util/startable'
import { type Candidate, type LocalRuntimeSource, localCandidate, remoteCandidates } from './candidates'
import { ProviderRecords } from './provider-records'
import { RetryBudget } from './retry-budget'
import { type RoutingPolicy, pick, score } from './scoring'
import { StreamState } from './stream-state'
import { type AttemptTimeouts, AttemptTimer, DEFAULT_TIMEOUTS } from './timeouts'
import { UpstreamError, toUpstreamError } from './upstream-error'
import { streamFromWorker } from './worker-client'

export interface RouteRequest {
  id: string
  call: InferBody
}

/** What the API sees: `start` once the first token is in (headers may go out), text, then `done`. */
export type RouteEvent =
  | { type: 'start'; provider: string }
  | { type: 'text'; text: string }
  | { type: 'done'; finishReason: string | null; usage: Usage; meshwork: MeshworkInfo }

export interface RouterOptions {
  peers: PeerTable
  /** Dials providers; omitted on a node without libp2p (local runtime only). */
  libp2p?: Pick<Libp2p, 'dialProtocol' | 'getConnections'>
  local?: LocalRuntimeSource
  events: NodeEvents
  logger: Logger
  policy?: RoutingPolicy
  timeouts?: Partial<AttemptTimeouts>
  /** Attempts per request, first one included. */
  maxAttempts?: number
  retryBudget?: RetryBudget
  records?: ProviderRecords
  /** Seconds a 503 tells clients to wait. */
  retryAfterSeconds?: number
}

type AttemptEvent = AcceptFrame | DeltaFrame | FinalFrame

export class Router {
  readonly records: ProviderRecords
  readonly budget: RetryBudget
  private readonly inflight = new Map<string, number>()
  private readonly timeouts: AttemptTimeouts
  private readonly log: Logger
  private readonly dialer: InferDialer | undefined

  constructor(private readonly options: RouterOptions) {
    this.dialer = options.libp2p ? new InferDialer(options.libp2p) : undefined
    this.records = options.records ?? new ProviderRecords()
    this.budget = options.retryBudget ?? new RetryBudget()
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
    const list = remoteCandidates(this.options.peers, model, this.options.local?.peerId)
    const local = localCandidate(this.options.local, model)
    return local ? [local, ...list] : list
  }

  /**
   * Routes one request with failover. Errors before the first token are thrown from the first
   * `next()` (so the API can still answer with a status); later ones end the stream with a throw.
   */
  async *route(request: RouteRequest, options: AbortOptions = {}): AsyncGenerator<RouteEvent> {
    const { id, call } = request
    const model = call.body.model
    const signal = options.signal ?? new AbortController().signal
    const begun = performance.now()
    const events = this.options.events
    events.emit('request:started', { id, model, stream: call.body.stream === true })
    const endRequest = this.budget.requestStarted()
    const state = new StreamState(call)
    const exclude = new Set<string>()
    let ok = false
    let errorCode: string | undefined
    let clientStarted = false
    let ttftMs: number | undefined
    let lastError: UpstreamError | undefined
    let failedAt: { from: string; reason: string; at: number; emitted: number; lastDeltaAt: number } | undefined
    let lastDeltaAt = begun
    let usage: Usage | undefined
    const pace = { gapMs: undefined as number | undefined }
    try {
      if (!this.knownModels().has(model)) throw new ModelNotFoundError(model)
      for (let attempt = 1; ; attempt++) {
        const next = state.nextCall()
        if (next === 'length') {
          usage = state.usage(undefined)
          ok = true
          yield this.done(state, 'length', usage)
          return
        }
        const candidate = attempt > (this.options.maxAttempts ?? 6) ? undefined : this.select(model, exclude, state)
        if (candidate === undefined || next === 'impossible') {
          if (failedAt) events.emit('request:failover', { id, from: failedAt.from, reason: failedAt.reason, emittedTokens: failedAt.emitted })
          if (lastError?.kind === 'client') throw lastError
          if (state.received) throw new UpstreamError('closed', 'failover_exhausted', `no provider could continue the stream (${lastError?.message ?? 'none left'})`, 502)
          throw new NoProviderError(model, this.options.retryAfterSeconds ?? 5)
        }
        const releaseRetry = attempt > 1 ? await this.budget.acquire({ signal }) : () => {}
        const continuation = state.received
        if (attempt > 1) state.failovers++
        events.emit('request:attempt', { id, provider: candidate.peerId, attempt, continuation })
        if (!state.providers.includes(candidate.peerId)) state.providers.push(candidate.peerId)
        const frame: RequestFrame = { type: 'request', id, call: next, ...(continuation && state.sha256 ? { sha256: state.sha256 } : {}) }
        const attemptStart = performance.now()
        const timer = new AttemptTimer(this.timeouts, pace, signal, continuation ? state.receivedIds.length : 0)
        this.inflight.set(candidate.peerId, (this.inflight.get(candidate.peerId) ?? 0) + 1)
        let firstDelta = true
        let final: FinalFrame | undefined
        let tokensThisAttempt = 0
        try {
          for await (const event of this.open(candidate, frame, timer.signal)) {
            if (event.type === 'accept') {
              if (event.sha256 && state.sha256 === undefined) state.sha256 = event.sha256
              continue
            }
            if (event.type === 'final') {
              final = event
              break
            }
            const now = performance.now()
            const hasContent = event.text !== '' || (event.tokenIds?.length ?? 0) > 0
            if (firstDelta && hasContent) {
              firstDelta = false
              timer.firstToken()
              releaseRetry()
              if (state.sha256 === undefined) state.sha256 = candidate.sha256
              if (ttftMs === undefined) ttftMs = now - begun
              this.records.observe(candidate.peerId, { ttftMs: now - attemptStart })
              if (failedAt) {
                const gapMs = Math.round(now - failedAt.lastDeltaAt)
                events.emit('request:failover', {
                  id, from: failedAt.from, to: candidate.peerId, reason: failedAt.reason,
                  emittedTokens: failedAt.emitted, gapMs, approximate: state.approximate || undefined
                })
                failedAt = undefined
              }
            }
            else if (hasContent) timer.tokenArrived(now - lastDeltaAt)
            if (hasContent) lastDeltaAt = now
            tokensThisAttempt += event.tokenIds?.length ?? 0
            const text = state.absorb(event)
            if (!firstDelta && (!clientStarted || text !== '')) {
              timer.pause()
              if (!clientStarted) {
                clientStarted = true
                yield { type: 'start', provider: candidate.peerId }
              }
              if (text !== '') yield { type: 'text', text }
              timer.resume()
            }
            if (state.stopped) break
          }
        } catch (err) {
          timer.clear()
          releaseRetry()
          if (signal.aborted) throw signal.reason
          const e = toUpstreamError(timer.reason ?? err)
          lastError = e
          if (e.kind === 'client' && !state.received) throw e
          this.noteFailure(candidate, e)
          exclude.add(candidate.peerId)
          if (!failedAt) failedAt = { from: candidate.peerId, reason: e.code, at: performance.now(), emitted: state.receivedIds.length, lastDeltaAt }
          this.log.info('attempt failed, failing over', { id, provider: candidate.peerId, code: e.code, message: e.message.slice(0, 200), emittedTokens: state.receivedIds.length })
          continue
        } finally {
          timer.clear()
          this.inflight.set(candidate.peerId, Math.max(0, (this.inflight.get(candidate.peerId) ?? 1) - 1))
        }
        releaseRetry()
        if (final === undefined && !state.stopped) throw new UpstreamError('protocol', 'no_final', 'the stream ended without a final frame')
        const decodeMs = performance.now() - attemptStart
        if (tokensThisAttempt > 1) this.records.success(candidate.peerId, { tokensPerSecond: (tokensThisAttempt * 1000) / decodeMs })
        if (state.promptTokens === undefined && attempt === 1 && final?.usage) state.promptTokens = final.usage.prompt_tokens
        const tail = state.flush()
        if (!clientStarted) {
          clientStarted = true
          yield { type: 'start', provider: candidate.peerId }
        }
        if (tail !== '') yield { type: 'text', text: tail }
        usage = state.usage(final)
        // before the yield: a consumer that stops iterating at `done` never resumes this generator
        ok = true
        yield this.done(state, state.stopped ? 'stop' : (final?.finishReason ?? 'stop'), usage)
        return
      }
    } catch (err) {
      errorCode = (err as { code?: string }).code ?? 'internal_error'
      throw err
    } finally {
      endRequest()
      events.emit('request:finished', {
        id, providers: [...state.providers], failovers: state.failovers, ok, error: ok ? undefined : (errorCode ?? 'cancelled'),
        latencyMs: performance.now() - begun, promptTokens: usage?.prompt_tokens, completionTokens: usage?.completion_tokens, ttftMs
      })
    }
  }

  /** Closes the warm streams kept to providers. */
  stop(): void {
    this.dialer?.close()
  }

  private done(state: StreamState, finishReason: string | null, usage: Usage): RouteEvent {
    const meshwork: MeshworkInfo = { providers: [...state.providers], failovers: state.failovers }
    if (state.approximate) meshwork.approximate = true
    return { type: 'done', finishReason, usage, meshwork }
  }

  private select(model: string, exclude: Set<string>, state: StreamState): Candidate | undefined {
    const all = this.candidates(model).filter((c) => !exclude.has(c.peerId) && (!state.received || state.sha256 === undefined || c.sha256 === state.sha256))
    const ready = all.filter((c) => this.records.ejectedFor(c.peerId) === 0)
    const scoreOf = (c: Candidate): number => score(c, this.records, this.inflight.get(c.peerId) ?? 0)
    if (ready.length > 0) return pick(ready, scoreOf, this.options.policy)
    // Everyone left is ejected: try the one whose ejection ends first rather than fail (panic routing).
    return all.sort((a, b) => this.records.ejectedFor(a.peerId) - this.records.ejectedFor(b.peerId))[0]
  }

  private open(candidate: Candidate, frame: RequestFrame, signal: AbortSignal): AsyncIterable<AttemptEvent> {
    if (candidate.local) {
      const runtime = this.options.local?.runtime()
      const endpoint = runtime?.endpoint()
      if (runtime === undefined || endpoint === undefined) throw new UpstreamError('refused', 'runtime_unavailable', 'the local runtime is not ready', 503)
      if (frame.call.body.replay_tokens !== undefined && !runtime.supportsTokenContinuation) {
        throw new UpstreamError('refused', 'continuation_unsupported', 'the local runtime cannot continue from token ids', 503)
      }
      return streamFromWorker(endpoint, frame.call, { signal })
    }
    if (this.dialer === undefined) throw new UpstreamError('connect', 'no_libp2p', 'this node has no p2p stack', 503)
    return openInfer(this.dialer, peerIdFromString(candidate.peerId), frame, { signal, connectTimeoutMs: this.timeouts.connectMs })
  }

  private noteFailure(candidate: Candidate, e: UpstreamError): void {
    if (e.kind === 'refused') {
      this.records.refused(candidate.peerId, e.code, e.code === 'provider_paused' ? 10_000 : 1_000)
      return
    }
    if (e.kind === 'client') return
    const ejectMs = this.records.failure(candidate.peerId, e.kind, e.code)
    this.log.debug('provider ejected', { provider: candidate.peerId, ms: ejectMs, code: e.code })
    if (candidate.local) return
    const gone = e.kind === 'connect' || (e.kind === 'closed' && (this.options.libp2p?.getConnections(peerIdFromString(candidate.peerId)).length ?? 0) === 0)
    if (gone) this.options.peers.markDead(candidate.peerId, `infer: ${e.code}`)
  }
}

export function createRouter(options: RouterOptions): Router {
  return new Router(options)
}
