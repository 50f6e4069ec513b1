import { EventEmitter } from 'node:events'
import type { RuntimeStatus } from '../../shared/api'
import type { ProgressEvent } from './runtime/types'

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
  'request:failover': [{ id: string; from: string; to?: string; reason: string; emittedTokens: number; gapMs?: number; approximate?: boolean }]
  'request:finished': [{ id: string; providers: string[]; failovers: number; ok: boolean; error?: string; latencyMs: number; promptTokens?: number; completionTokens?: number; ttftMs?: number }]
  'job:served': [{ id: string; model: string; consumer: string; promptTokens: number; completionTokens: number; ok: boolean }]
  'benchmark:progress': [ProgressEvent]
}

export type NodeEvents = EventEmitter<NodeEventMap>

export function createEvents(): NodeEvents {
  const events = new EventEmitter<NodeEventMap>()
  events.setMaxListeners(100)
  return events
}
