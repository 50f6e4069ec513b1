import { readFileSync, readdirSync, statSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { DASHBOARD_CSP } from '../../electron/core/api/static-routes'
import { WINDOW_CSP, isAppUrl, mainWindowOptions, rendererUrl } from '../../electron/window'

describe('window security', () => {
  it('isolates the page from Node and Electron', () => {
    const prefs = mainWindowOptions('/app/out/preload/preload.cjs').webPreferences!
    expect(prefs.contextIsolation).toBe(true)
    expect(prefs.sandbox).toBe(true)
    expect(prefs.nodeIntegration).toBe(false)
    expect(prefs.nodeIntegrationInWorker).toBe(false)
    expect(prefs.nodeIntegrationInSubFrames).toBe(false)
    expect(prefs.webSecurity).toBe(true)
    expect(prefs.allowRunningInsecureContent).toBe(false)
    expect(prefs.webviewTag).toBe(false)
    expect(prefs.preload).toMatch(/\.cjs$/)
  })

  it('allows only the app page itself to load', () => {
    const app = 'file:///opt/Meshwork/resources/app.asar/out/renderer/index.html'
    expect(isAppUrl(`${app}#/peers`, app)).toBe(true)
    expect(isAppUrl('file:///etc/passwd', app)).toBe(false)
    expect(isAppUrl('https://evil.example/', app)).toBe(false)
    expect(isAppUrl(`${app}?x=1`, app)).toBe(false)
    expect(isAppUrl('not a url', app)).toBe(false)
    expect(isAppUrl('http://localhost:5173/#/peers', 'http://localhost:5173/')).toBe(true)
    expect(isAppUrl('http://localhost:5174/', 'http://localhost:5173/')).toBe(false)
  })

  it('honours ELECTRON_RENDERER_URL only in an unpackaged app, and only for a dev server on this machine', () => {
    const fileUrl = 'file:///opt/Meshwork/resources/app.asar/out/renderer/index.html'
    const dev = { ELECTRON_RENDERER_URL: 'http://localhost:5173/' }
    expect(rendererUrl({ isPackaged: true, env: dev, fileUrl })).toBe(fileUrl)
    expect(rendererUrl({ isPackaged: true, env: { ELECTRON_RENDERER_URL: 'https://evil.example/' }, fileUrl })).toBe(
      fileUrl
    )
    expect(rendererUrl({ isPackaged: false, env: dev, fileUrl })).toBe('http://localhost:5173/')
    expect(rendererUrl({ isPackaged: false, env: { ELECTRON_RENDERER_URL: 'http://127.0.0.1:5173/' }, fileUrl })).toBe(
      'http://127.0.0.1:5173/'
    )
    for (const url of [
      'https://evil.example/',
      'file:///tmp/page.html',
      'javascript:alert(1)',
      'not a url',
      'http://localhost.evil.example/'
    ]) {
      expect(rendererUrl({ isPackaged: false, env: { ELECTRON_RENDERER_URL: url }, fileUrl }), url).toBe(fileUrl)
    }
    expect(rendererUrl({ isPackaged: false, env: {}, fileUrl })).toBe(fileUrl)
    // the app takes the page from here, not from the variable directly
    const main = readFileSync('electron/desktop-app.ts', 'utf8')
    expect(main).toMatch(/rendererUrl\(\{ isPackaged: app\.isPackaged/)
    expect(main.match(/ELECTRON_RENDERER_URL/g) ?? []).toHaveLength(0)
  })

  it('uses one strict CSP everywhere: no inline or eval script, no foreign connections', () => {
    expect(WINDOW_CSP).toBe(DASHBOARD_CSP)
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "object-src 'none'",
      "base-uri 'none'",
      "connect-src 'self'"
    ]) {
      expect(WINDOW_CSP).toContain(directive)
    }
    expect(WINDOW_CSP).not.toMatch(/unsafe-(inline|eval)/)
    const html = readFileSync('renderer/index.html', 'utf8')
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1]
    // the meta tag cannot carry frame-ancestors; otherwise it says the same
    expect(meta).toBe(WINDOW_CSP.replace("; frame-ancestors 'none'", ''))
  })

  it('keeps the renderer free of node:* and electron imports, and the desktop glue small', () => {
    const files = listTs('renderer')
    expect(files.length).toBeGreaterThan(5)
    for (const file of files) {
      const text = readFileSync(file, 'utf8')
      expect(text, file).not.toMatch(/from\s+['"](node:|electron['"])/)
      expect(text, file).not.toMatch(/require\(['"](node:|electron)/)
    }
    expect(readFileSync('electron/desktop-app.ts', 'utf8').split('\n').length).toBeLessThan(150)
  })
})

function listTs(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const path = `${dir}/${name}`
    if (statSync(path).isDirectory()) out.push(...listTs(path))
    else if (/\.tsx?$/.test(name)) out.push(path)
  }
  return out
}
