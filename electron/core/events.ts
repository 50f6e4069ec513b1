import { EventEmitter } from 'node:events'
import type { RuntimeStatus } from '../../shared/api'
import type { ReceivedFinal } from '../../shared/infer'
import type { InferError, InferFailureKind } from '../../shared/infer-error'
import type { ProgressEvent } from './runtime/types'

/** How one attempt on one provider ended; settled in one place by the router. */
export interface AttemptOutcome {
  requestId: string
  provider: string
  local: boolean
  model: string
  sha256?: string
  kind: 'ok' | 'failed' | 'refused' | 'cancelled' | 'client'
  code?: string
  failure?: Exclude<InferFailureKind, 'refused' | 'client'>
  /** Tokens this provider delivered in this attempt (ids, or deltas where the runtime gives none). */
  tokens: number
  /** The prompt as this provider evaluated it (its first delta's prompt ids), when it said. */
  promptTokens?: number
  /** Attempt duration by our clock. */
  ms: number
  ttftMs?: number
  /** Decode speed by our clock, first to last token; only with token ids and more than one token. */
  tokensPerSecond?: number
  continuation: boolean
  final?: ReceivedFinal
  /** The error behind a non-ok outcome. */
  error?: InferError
}

/** Everything the node announces; feeds the dashboard (SSE / IPC) and metrics. */
export interface NodeEventMap {
  'status:changed': [{ paused: boolean }]
  'peer:updated': [{ peerId: string; alive: boolean; paused: boolean }]
  'peer:removed': [{ peerId: string; reason: string }]
  'runtime:status': [RuntimeStatus]
  'runtime:progress': [ProgressEvent]
  'runtime:log': [{ line: string; stream: 'stdout' | 'stderr' }]
  'request:started': [{ id: string; model: string; stream: boolean }]
  'request:attempt': [{ id: string; provider: string; attempt: number; continuation: boolean }]
  'request:failover': [
    {
      id: string
      from: string
      to?: string
      reason: string
      emittedTokens: number
      gapMs?: number
      approximate?: boolean
    }
  ]
  'request:finished': [
    {
      id: string
      providers: string[]
      failovers: number
      ok: boolean
      error?: string
      latencyMs: number
      promptTokens?: number
      completionTokens?: number
      ttftMs?: number
    }
  ]
  /** One attempt of a routed request on one provider, settled (direct evidence for trust, receipts). */
  'attempt:settled': [AttemptOutcome]
  'job:served': [
    { id: string; model: string; consumer: string; promptTokens: number; completionTokens: number; ok: boolean }
  ]
  'benchmark:progress': [ProgressEvent]
}

export type NodeEvents = EventEmitter<NodeEventMap>

export function createEvents(): NodeEvents {
  const events = new EventEmitter<NodeEventMap>()
  events.setMaxListeners(100)
  return events
}
