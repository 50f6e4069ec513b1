import type { StateCreator } from 'zustand'
import type { PushEvents, PushedEvent } from '../../../shared/ipc'
import type { Store } from './index'

/** One request this node routed for a client of its OpenAI API. */
export interface RequestRow {
  id: string
  model?: string
  stream?: boolean
  startedAt: number
  providers: string[]
  failovers: Array<PushEvents['request:failover']>
  finished?: PushEvents['request:finished']
}

/** One job this node's GPU served for someone in the mesh. */
export type JobRow = PushEvents['job:served'] & { time: number }

const MAX_ROWS = 200

export interface ActivitySlice {
  requests: RequestRow[]
  jobs: JobRow[]
  applyActivity(event: PushedEvent): void
}

export const createActivitySlice: StateCreator<Store, [], [], ActivitySlice> = (set) => ({
  requests: [],
  jobs: [],
  applyActivity(event) {
    if (event.name === 'job:served') {
      const job = { ...(event.payload as PushEvents['job:served']), time: event.time }
      set((s) => ({ jobs: [job, ...s.jobs.filter((j) => j.id !== job.id)].slice(0, MAX_ROWS) }))
      return
    }
    if (!event.name.startsWith('request:')) return
    const id = (event.payload as { id: string }).id
    set((s) => {
      const existing = s.requests.find((r) => r.id === id)
      const row: RequestRow = existing ? { ...existing } : { id, startedAt: event.time, providers: [], failovers: [] }
      switch (event.name) {
        case 'request:started': {
          const p = event.payload as PushEvents['request:started']
          Object.assign(row, { model: p.model, stream: p.stream, startedAt: event.time })
          break
        }
        case 'request:attempt': {
          const p = event.payload as PushEvents['request:attempt']
          if (!row.providers.includes(p.provider)) row.providers = [...row.providers, p.provider]
          break
        }
        case 'request:failover':
          row.failovers = [...row.failovers, event.payload as PushEvents['request:failover']]
          break
        case 'request:finished': {
          const p = event.payload as PushEvents['request:finished']
          row.finished = p
          if (p.providers.length > 0) row.providers = p.providers
          break
        }
      }
      const rest = s.requests.filter((r) => r.id !== id)
      return { requests: [row, ...rest].sort((a, b) => b.startedAt - a.startedAt).slice(0, MAX_ROWS) }
    })
  }
})
