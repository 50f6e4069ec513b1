// The desktop app: thin glue around the node (single instance, window, tray, IPC, graceful quit).
import { app, BrowserWindow, ipcMain, Menu, nativeImage, session, Tray } from 'electron'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { loadConfig } from './core/config'
import { createNode } from './core/node'
import { EXIT_GRACE_MS } from './core/util/lifecycle'
import { createLogger } from './core/util/logger'
import { registerIpc } from './ipc'
import { createTray, trayStateFromStatus, type TrayAction, type TrayState } from './tray'
import { lockDown, mainWindowOptions, rendererUrl } from './window'

const log = createLogger('app')

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  void main().catch((err) => {
    log.error('Meshwork failed to start', { err })
    app.exit(1)
  })
}

async function main(): Promise<void> {
  await app.whenReady()
  const resources = app.isPackaged ? process.resourcesPath : join(app.getAppPath(), 'build')
  const icon = (name: string) => nativeImage.createFromPath(join(resources, name))
  const here = import.meta.dirname
  const fileUrl = pathToFileURL(join(here, '../renderer/index.html')).href
  const appUrl = rendererUrl({ isPackaged: app.isPackaged, env: process.env, fileUrl })

  // the node also serves this dashboard over HTTP (for a browser on the same machine)
  const config = loadConfig({ dataDir: app.getPath('userData') })
  const node = await createNode(config, { rendererDir: join(here, '../renderer') })
  let window: BrowserWindow | undefined
  let quitting = false
  let trayState: TrayState = { mode: 'starting', served: 0 }

  function openDashboard(): void {
    if (window && !window.isDestroyed()) {
      window.show()
      window.focus()
      return
    }
    window = new BrowserWindow(mainWindowOptions(join(here, '../preload/preload.cjs'), join(resources, 'icon.png')))
    lockDown(window, session.defaultSession, appUrl)
    window.once('ready-to-show', () => window?.show())
    window.on('close', (event) => {
      if (quitting) return
      event.preventDefault() // closing the window keeps the node earning in the tray
      window?.hide()
    })
    void window.loadURL(appUrl)
  }

  const refreshTray = async (): Promise<void> => {
    try {
      trayState = trayStateFromStatus(await node.control.status(), true)
    } catch {
      trayState = trayStateFromStatus(undefined, false)
    }
    tray.update(trayState)
  }

  async function onAction(action: TrayAction): Promise<void> {
    if (action === 'open-dashboard') return openDashboard()
    if (action === 'quit') return void app.quit()
    tray.update({ ...trayState, busy: true })
    await (trayState.mode === 'paused' ? node.control.resume() : node.control.pause()).catch((err) =>
      log.error('toggle failed', { err })
    )
    await refreshTray()
  }

  const tray = createTray(
    { Tray, Menu, icon, onAction: (a) => void onAction(a).catch((err) => log.error('tray action failed', { err })) },
    trayState
  )
  const unregisterIpc = registerIpc({
    ipcMain,
    control: node.control,
    appUrl,
    targets: () => (window && !window.isDestroyed() ? [window.webContents] : []),
    logger: log.child('ipc')
  })
  for (const name of ['status:changed', 'job:served', 'runtime:status'] as const)
    node.control.events.on(name, () => void refreshTray())

  app.on('second-instance', openDashboard)
  app.on('window-all-closed', () => {
    /* stay in the tray */
  })
  app.on('before-quit', (event) => {
    if (quitting) return
    event.preventDefault()
    quitting = true
    tray.update({ ...trayState, mode: 'stopping' })
    unregisterIpc()
    // the node stops by itself within config.stopTimeoutMs (plus cleanup); this only catches a hang
    const timeout = new Promise((resolve) => setTimeout(resolve, config.stopTimeoutMs + EXIT_GRACE_MS).unref())
    void Promise.race([node.stop(), timeout])
      .catch((err) => log.error('stop failed', { err }))
      .finally(() => {
        tray.destroy()
        app.exit(0)
      })
  })

  await node.start()
  log.info('node started', { apiUrl: node.apiUrl })
  await refreshTray()
  if (!process.argv.includes('--hidden')) openDashboard()
}
