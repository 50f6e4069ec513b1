import type { BrowserWindow, BrowserWindowConstructorOptions, Session } from 'electron'

/** The dashboard window: no Node in the page, sandboxed, isolated preload, nothing loads but our files. */
export function mainWindowOptions(preloadPath: string, iconPath?: string): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 860,
    minWidth: 760,
    minHeight: 520,
    show: false,
    title: 'Meshwork',
    backgroundColor: '#0f1218',
    icon: iconPath,
    autoHideMenuBar: true,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      navigateOnDragDrop: false,
      safeDialogs: true
    }
  }
}

/** Same policy as renderer/index.html's meta tag; also sent as a header for anything the session loads. */
export const WINDOW_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/**
 * The page the window loads: the built renderer file, or — only in development (an unpackaged app) —
 * the dev server named by ELECTRON_RENDERER_URL, and only on this machine. A packaged app ignores the
 * variable, so nobody can point an installed app at a page of their own through the environment.
 */
export function rendererUrl(options: {
  isPackaged: boolean
  env: Record<string, string | undefined>
  fileUrl: string
}): string {
  const dev = options.env.ELECTRON_RENDERER_URL
  if (options.isPackaged || dev === undefined) return options.fileUrl
  try {
    const url = new URL(dev)
    const local = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)
    return (url.protocol === 'http:' || url.protocol === 'https:') && local ? url.href : options.fileUrl
  } catch {
    return options.fileUrl
  }
}

/** Only the app's own page may load in the window: same file, any #/page. */
export function isAppUrl(url: string, appUrl: string): boolean {
  try {
    const a = new URL(url)
    const b = new URL(appUrl)
    return a.protocol === b.protocol && a.host === b.host && a.pathname === b.pathname && a.search === ''
  } catch {
    return false
  }
}

/** Blocks navigation, new windows, webviews and permission prompts; sets the CSP header. */
export function lockDown(win: BrowserWindow, session: Session, appUrl: string): void {
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }))
  win.webContents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url, appUrl)) event.preventDefault()
  })
  win.webContents.on('will-redirect', (event, url) => {
    if (!isAppUrl(url, appUrl)) event.preventDefault()
  })
  win.webContents.on('will-attach-webview', (event) => event.preventDefault())
  session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false))
  session.setPermissionCheckHandler(() => false)
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [WINDOW_CSP] } })
  })
}
