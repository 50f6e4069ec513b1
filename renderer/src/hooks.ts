import { createContext, useContext, useEffect, useState } from 'react'
import { useStore as useZustand } from 'zustand'
import type { AppStore, Store } from './store'

export const StoreContext = createContext<AppStore | null>(null)

export function useApp<T>(selector: (s: Store) => T): T {
  const store = useContext(StoreContext)
  if (!store) throw new Error('StoreContext missing')
  return useZustand(store, selector)
}

/** Re-renders every `everyMs` so relative times and chart windows move on (no network). */
export function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs)
    return () => clearInterval(t)
  }, [everyMs])
  return now
}
