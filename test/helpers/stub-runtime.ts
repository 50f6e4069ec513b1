import type { InferenceRuntime } from '../../electron/core/runtime/types'
import type { ServedModel } from '../../shared/models'

/** A ready runtime serving `models` whose answers come from `stream` (no container, no lifecycle). */
export function stubRuntime(
  models: ServedModel[],
  stream: InferenceRuntime['stream'],
  options: { kind?: 'process' | 'external'; endpoint?: string } = {}
): InferenceRuntime {
  const { kind = 'process', endpoint } = options
  return {
    kind,
    status: () => ({ kind, state: 'ready', endpoint }),
    endpoint: () => endpoint ?? 'http://127.0.0.1:1',
    models: () => models,
    suspend: async () => {},
    resume: async () => {},
    start: async () => {},
    stop: async () => {},
    supportsTokenContinuation: true,
    stream
  }
}
