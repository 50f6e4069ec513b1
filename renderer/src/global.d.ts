import type { InvokeArgs, InvokeChannel, InvokeResult, IpcResult, PushEventName, PushedEvent } from '../../shared/ipc'

/** What electron/preload.ts exposes; absent in the web dashboard. */
export interface MeshworkBridge {
  invoke<C extends InvokeChannel>(channel: C, args?: InvokeArgs<C>): Promise<IpcResult<InvokeResult<C>>>
  on(name: PushEventName | '*', listener: (event: PushedEvent) => void): () => void
}

declare global {
  interface Window {
    meshwork?: MeshworkBridge
  }
}
