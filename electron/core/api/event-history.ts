import { PUSH_EVENTS, parsePushEvent, type PushEventName, type PushEvents, type PushedEvent } from '../../../shared/ipc'
import type { NodeEvents } from '../events'

export type PushListener = (event: PushedEvent) => void

/**
 * Listens to the node's events once, validates them against the dashboard contract, fans them out to
 * transports (SSE clients, the Electron window) and keeps a short history so a freshly opened
 * dashboard can show recent requests and log lines.
 */
export interface EventHistory {
  recent(limit?: number): PushedEvent[]
  subscribe(listener: PushListener): () => void
  /** How many transports listen now (SSE clients, windows). */
  subscribers(): number
  close(): void
}

const LOG_EVENTS = new Set<PushEventName>(['runtime:log'])

export function createEventHistory(
  events: NodeEvents,
  options: { maxEvents?: number; maxLogLines?: number } = {}
): EventHistory {
  const maxEvents = options.maxEvents ?? 300
  const maxLogLines = options.maxLogLines ?? 200
  const general: PushedEvent[] = []
  const logs: PushedEvent[] = []
  const listeners = new Set<PushListener>()
  const detach: Array<() => void> = []

  for (const name of PUSH_EVENTS) {
    const handler = (payload: unknown): void => {
      const valid = parsePushEvent(name, payload)
      if (valid === undefined) return // a producer drifted from the contract: never forward unchecked data
      const event = { name, payload: valid, time: Date.now() } as PushedEvent
      const buffer = LOG_EVENTS.has(name) ? logs : general
      buffer.push(event)
      if (buffer.length > (buffer === logs ? maxLogLines : maxEvents)) buffer.shift()
      for (const listener of listeners) listener(event)
    }
    const emitter = events as unknown as {
      on(n: string, h: (p: unknown) => void): void
      off(n: string, h: (p: unknown) => void): void
    }
    emitter.on(name, handler)
    detach.push(() => emitter.off(name, handler))
  }

  return {
    recent(limit = 200) {
      return [...general, ...logs].sort((a, b) => a.time - b.time).slice(-limit)
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    subscribers: () => listeners.size,
    close() {
      for (const off of detach.splice(0)) off()
      listeners.clear()
    }
  }
}

const shared = new WeakMap<NodeEvents, EventHistory>()

/** One history per node, shared by the HTTP and Electron transports. */
export function eventHistoryFor(events: NodeEvents): EventHistory {
  let history = shared.get(events)
  if (history === undefined) {
    history = createEventHistory(events)
    shared.set(events, history)
  }
  return history
}

export type { PushEvents }
