import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron'
import { IPC_ERRORS, IPC_EVENT, IPC_INVOKE, type IpcResult } from '../shared/ipc'
import type { NodeControl } from './core/control'
import { createIpcDispatcher } from './core/api/ipc-dispatch'
import type { Logger } from './core/util/logger'
import { isAppUrl } from './window'

export interface IpcDeps {
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>
  control: NodeControl
  /** URL of the app page (file://…/index.html, or the dev server in development). */
  appUrl: string
  /** Windows that receive pushed events. */
  targets(): WebContents[]
  logger?: Logger
}

/** Only our own top-level page may call the node; an injected frame or a navigated page may not. */
export function isTrustedSender(event: Pick<IpcMainInvokeEvent, 'senderFrame'>, appUrl: string): boolean {
  const frame = event.senderFrame
  if (!frame || frame.parent !== null) return false
  return isAppUrl(frame.url, appUrl)
}

/** Serves the shared/ipc.ts contract over Electron IPC; returns a function that unregisters it. */
export function registerIpc(deps: IpcDeps): () => void {
  const dispatcher = createIpcDispatcher(deps.control, { logger: deps.logger })
  deps.ipcMain.handle(IPC_INVOKE, async (event, channel: unknown, args: unknown): Promise<IpcResult<unknown>> => {
    if (!isTrustedSender(event, deps.appUrl)) {
      deps.logger?.warn('refused an IPC call from an unexpected frame', { url: event.senderFrame?.url })
      return { ok: false, error: { code: IPC_ERRORS.forbidden, message: 'This page may not control the node' } }
    }
    return (await dispatcher.dispatch(channel, args)).result
  })
  const unsubscribe = dispatcher.history.subscribe((pushed) => {
    for (const wc of deps.targets()) if (!wc.isDestroyed()) wc.send(IPC_EVENT, pushed)
  })
  return () => {
    unsubscribe()
    deps.ipcMain.removeHandler(IPC_INVOKE)
  }
}
