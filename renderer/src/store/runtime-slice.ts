import type { StateCreator } from 'zustand'
import type { PushEvents, PushedEvent } from '../../../shared/ipc'
import type { Store } from './index'

export type ProgressRow = PushEvents['runtime:progress'] & { source: 'runtime' | 'benchmark'; time: number }

export interface LogLine {
  line: string
  stream: 'stdout' | 'stderr'
  time: number
}

const MAX_LOG_LINES = 300

export interface RuntimeSlice {
  /** Latest progress per task; a task at fraction 1 stays as "done". */
  progress: Record<string, ProgressRow>
  logs: LogLine[]
  applyRuntime(event: PushedEvent): void
}

export const createRuntimeSlice: StateCreator<Store, [], [], RuntimeSlice> = (set) => ({
  progress: {},
  logs: [],
  applyRuntime(event) {
    if (event.name === 'runtime:progress' || event.name === 'benchmark:progress') {
      const p = event.payload as PushEvents['runtime:progress']
      const source = event.name === 'runtime:progress' ? 'runtime' : 'benchmark'
      set((s) => ({ progress: { ...s.progress, [`${source}:${p.task}`]: { ...p, source, time: event.time } } }))
    } else if (event.name === 'runtime:log') {
      const p = event.payload as PushEvents['runtime:log']
      set((s) => ({ logs: [...s.logs, { ...p, time: event.time }].slice(-MAX_LOG_LINES) }))
    } else if (event.name === 'runtime:status') {
      const runtime = event.payload as PushEvents['runtime:status']
      set((s) => (s.status ? { status: { ...s.status, runtime } } : {}))
    }
  }
})
