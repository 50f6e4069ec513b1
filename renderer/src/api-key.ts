/**
 * The node's API key, as the dashboard in a browser keeps it: for this tab (sessionStorage), or on this
 * browser when the owner asks (localStorage). A node bound off loopback requires it on every call.
 */
const STORAGE_KEY = 'meshwork.apiKey'
const listeners = new Set<(needed: boolean) => void>()
let needed = false

function stores(): Storage[] {
  const found: Storage[] = []
  for (const get of [() => window.sessionStorage, () => window.localStorage]) {
    try {
      found.push(get())
    } catch {
      // storage disabled in this browser
    }
  }
  return found
}

export function loadApiKey(): string | undefined {
  for (const store of stores()) {
    const key = store.getItem(STORAGE_KEY)
    if (key) return key
  }
  return undefined
}

export function saveApiKey(key: string, remember: boolean): void {
  clearApiKey()
  const [session, local] = stores()
  ;(remember ? (local ?? session) : session)?.setItem(STORAGE_KEY, key.trim())
}

export function clearApiKey(): void {
  for (const store of stores()) store.removeItem(STORAGE_KEY)
}

/** Headers that carry the key, when there is one. */
export function authHeaders(): Record<string, string> {
  const key = loadApiKey()
  return key ? { authorization: `Bearer ${key}` } : {}
}

/** The node refused the dashboard's call (401): ask the owner for the key. */
export function markKeyNeeded(): void {
  if (needed) return
  needed = true
  for (const listener of listeners) listener(true)
}

export function keyNeeded(): boolean {
  return needed
}

export function onKeyNeeded(listener: (needed: boolean) => void): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}
