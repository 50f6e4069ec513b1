import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'

export const SCREENSHOT_DIR = join(process.cwd(), 'test-results', 'screenshots')

/** Debian's Chromium, headless, no network beyond what the page asks of loopback. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
    timeout: 60_000
  })
}

/** Collects console errors and CSP violations so a test can assert the page ran cleanly. */
export function watchConsole(page: Page): string[] {
  const problems: string[] = []
  page.on('console', (msg) => {
    // failed HTTP calls are judged by the response listener below, which knows the URL
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(msg.text())
  })
  page.on('response', (res) => {
    const expected = res.status() === 501 && res.url().endsWith('/api/ipc/settings:get') // node without settings()
    if (res.status() >= 400 && !expected) problems.push(`HTTP ${res.status()} ${res.url()}`)
  })
  page.on('pageerror', (err) => problems.push(err.message))
  return problems
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  const path = join(SCREENSHOT_DIR, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}

export async function openPage(page: Page, base: string, id: string): Promise<void> {
  await page.goto(`${base}/#/${id}`)
  await page.locator('.topbar h1').waitFor({ timeout: 15_000 })
}
