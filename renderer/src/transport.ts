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
import { authHeaders, markKeyNeeded } from './api-key'

/**
 * How the dashboard talks to its node: through the Electron preload (`window.meshwork`) when it runs
 * in the app, else through the node's HTTP API (`POST /api/ipc/*`, SSE `/api/events`). Same contract.
 * Over HTTP every call carries the node's API key when the owner entered one (`Authorization: Bearer`).
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
          headers: { 'content-type': 'application/json', ...authHeaders() },
          body: JSON.stringify(args ?? {}),
          cache: 'no-store'
        })
      } catch {
        return { ok: false, error: { code: IPC_ERRORS.unreachable, message: 'Cannot reach the Meshwork node.' } }
      }
      if (response.status === 401) {
        markKeyNeeded()
        return {
          ok: false,
          error: { code: IPC_ERRORS.forbidden, message: 'This node needs its API key: enter it to continue.' }
        }
      }
      let body: unknown
      try {
        body = await response.json()
      } catch {
        return {
          ok: false,
          error: {
            code: IPC_ERRORS.unreachable,
            message: `The node answered HTTP ${response.status} without a dashboard reply.`
          }
        }
      }
      const envelope = body as IpcResult<unknown>
      if (envelope && envelope.ok === true) return parseResult(channel, envelope.value)
      if (envelope && envelope.ok === false && typeof envelope.error?.message === 'string') return envelope
      if (response.status >= 500)
        return {
          ok: false,
          error: { code: IPC_ERRORS.unreachable, message: `The node did not answer (HTTP ${response.status}).` }
        }
      return {
        ok: false,
        error: { code: IPC_ERRORS.badResult, message: `Unexpected reply (HTTP ${response.status}).` }
      }
    },
    subscribe(onEvent, onConnection) {
      // fetch, not EventSource: EventSource cannot send the Authorization header
      const controller = new AbortController()
      void followEvents(
        (data) => {
          const valid = checkEvent(data)
          if (valid) onEvent(valid)
        },
        onConnection,
        controller.signal
      )
      return () => controller.abort()
    }
  }
}

const RETRY_MS = 2000

/** Reads the node's SSE stream, reconnecting after RETRY_MS until aborted; a 401 stops it and asks for the key. */
async function followEvents(
  onData: (data: unknown) => void,
  onConnection: (connected: boolean) => void,
  signal: AbortSignal
): Promise<void> {
  while (!signal.aborted) {
    try {
      const response = await fetch('/api/events', {
        headers: { accept: 'text/event-stream', ...authHeaders() },
        cache: 'no-store',
        signal
      })
      if (response.status === 401) {
        onConnection(false)
        markKeyNeeded()
        return
      }
      if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`)
      onConnection(true)
      await readSse(response.body, onData)
    } catch {
      // dropped: retry below
    }
    if (signal.aborted) return
    onConnection(false)
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS))
  }
}

/** Calls onData with each `data:` payload (JSON-parsed) of an SSE body until it ends. */
async function readSse(body: ReadableStream<Uint8Array>, onData: (data: unknown) => void): Promise<void> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += decoder.decode(value, { stream: true })
    let end: number
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const event = buffer.slice(0, end)
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '')
      const data = event
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, ''))
        .join('\n')
      if (data === '') continue
      try {
        onData(JSON.parse(data))
      } catch {
        // not JSON: ignore it like any malformed event
      }
    }
    if (buffer.length > 1024 * 1024) throw new Error('event too large')
  }
}

function checkEvent(data: unknown): PushedEvent | undefined {
  const envelope = PushedEventSchema.safeParse(data)
  if (!envelope.success) return undefined
  const payload = parsePushEvent(envelope.data.name, envelope.data.payload)
  return payload === undefined ? undefined : ({ ...envelope.data, payload } as PushedEvent)
}
