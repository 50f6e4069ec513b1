import {
  IPC_ERRORS,
  IPC_EVENT,
  IPC_INVOKE,
  isInvokeChannel,
  isPushEvent,
  type PushEventName
} from '../shared/ipc-names'

/** The slice of ipcRenderer the bridge needs (lets the allow-list be tested without Electron). */
export interface RendererIpc {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown
}

/** What the preload exposes as `window.meshwork`: only contract channels, only contract events. */
export function createBridge(ipc: RendererIpc) {
  return {
    invoke(channel: unknown, args?: unknown): Promise<unknown> {
      if (!isInvokeChannel(channel)) {
        return Promise.resolve({
          ok: false,
          error: { code: IPC_ERRORS.unknownChannel, message: `Unknown channel '${String(channel).slice(0, 64)}'` }
        })
      }
      return ipc.invoke(IPC_INVOKE, channel, args ?? {})
    },
    on(name: PushEventName | '*', listener: (event: unknown) => void): () => void {
      if (name !== '*' && !isPushEvent(name)) throw new Error(`Unknown event '${String(name).slice(0, 64)}'`)
      if (typeof listener !== 'function') throw new Error('listener must be a function')
      const handler = (_event: unknown, message: unknown): void => {
        const eventName = (message as { name?: unknown } | null)?.name
        if (name === '*' ? isPushEvent(eventName) : eventName === name) listener(message)
      }
      ipc.on(IPC_EVENT, handler)
      return () => {
        ipc.removeListener(IPC_EVENT, handler)
      }
    }
  }
}
