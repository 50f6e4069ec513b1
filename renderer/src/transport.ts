import {
  IPC_ERRORS,
  PushedEventSchema,
  parsePushEvent,
  parseResult,
  type InvokeArgs,
  type InvokeChannel,
  type InvokeResult,
  type IpcResult,
  type PushedEvent
} from '../../shared/ipc'

/**
 * How the dashboard talks to its node: through the Electron preload (`window.meshwork`) when it runs
 * in the app, else through the node's HTTP API (`POST /api/ipc/*`, SSE `/api/events`). Same contract.
 */
export interface Transport {
  readonly kind: 'electron' | 'http'
  invoke<C extends InvokeChannel>(channel: C, args?: InvokeArgs<C>): Promise<IpcResult<InvokeResult<C>>>
  /** Calls onConnection(true) when the live event stream is up, false when it dropped (it retries). */
  subscribe(onEvent: (event: PushedEvent) => void, onConnection: (connected: boolean) => void): () => void
}

export function createTransport(): Transport {
  const bridge = window.meshwork
  return bridge ? electronTransport(bridge) : httpTransport()
}

function electronTransport(bridge: NonNullable<Window['meshwork']>): Transport {
  return {
    kind: 'electron',
    async invoke(channel, args) {
      try {
        const result = await bridge.invoke(channel, args)
        return result.ok ? parseResult(channel, result.value) : result
      } catch (err) {
        return { ok: false, error: { code: IPC_ERRORS.internal, message: String((err as Error).message ?? err) } }
      }
    },
    subscribe(onEvent, onConnection) {
      onConnection(true)
      return bridge.on('*', (event) => {
        const valid = checkEvent(event)
        if (valid) onEvent(valid)
      })
    }
  }
}

function httpTransport(): Transport {
  return {
    kind: 'http',
    async invoke(channel, args) {
      let response: Response
      try {
        response = await fetch(`/api/ipc/${channel}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(args ?? {}),
          cache: 'no-store'
        })
      } catch {
        return { ok: false, error: { code: IPC_ERRORS.unreachable, message: 'Cannot reach the Meshwork node.' } }
      }
      let body: unknown
      try {
        body = await response.json()
      } catch {
        return { ok: false, error: { code: IPC_ERRORS.unreachable, message: `The node answered HTTP ${response.status} without a dashboard reply.` } }
      }
      const envelope = body as IpcResult<unknown>
      if (envelope && envelope.ok === true) return parseResult(channel, envelope.value)
      if (envelope && envelope.ok === false && typeof envelope.error?.message === 'string') return envelope
      if (response.status >= 500) return { ok: false, error: { code: IPC_ERRORS.unreachable, message: `The node did not answer (HTTP ${response.status}).` } }
      return { ok: false, error: { code: IPC_ERRORS.badResult, message: `Unexpected reply (HTTP ${response.status}).` } }
    },
    subscribe(onEvent, onConnection) {
      const source = new EventSource('/api/events')
      source.onopen = () => onConnection(true)
      source.onerror = () => onConnection(false) // EventSource reconnects by itself (server sends retry:)
      source.onmessage = (message) => {
        let data: unknown
        try {
          data = JSON.parse(message.data as string)
        } catch {
          return
        }
        const valid = checkEvent(data)
        if (valid) onEvent(valid)
      }
      return () => source.close()
    }
  }
}

function checkEvent(data: unknown): PushedEvent | undefined {
  const envelope = PushedEventSchema.safeParse(data)
  if (!envelope.success) return undefined
  const payload = parsePushEvent(envelope.data.name, envelope.data.payload)
  return payload === undefined ? undefined : ({ ...envelope.data, payload } as PushedEvent)
}
