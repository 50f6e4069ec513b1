import { create } from 'zustand'
import type { PushedEvent } from '../../../shared/ipc'
import type { Transport } from '../transport'
import { createActivitySlice, type ActivitySlice } from './activity-slice'
import { createEarningsSlice, type EarningsSlice } from './earnings-slice'
import { createNodeSlice, type NodeSlice } from './node-slice'
import { createPeersSlice, type PeersSlice } from './peers-slice'
import { createRuntimeSlice, type RuntimeSlice } from './runtime-slice'

export interface ConnectionSlice {
  transport: Transport
  /** undefined until the event stream first answers */
  connected?: boolean
  setConnected(connected: boolean): void
}

export type Store = NodeSlice & PeersSlice & ActivitySlice & RuntimeSlice & EarningsSlice & ConnectionSlice

export function createStore(transport: Transport) {
  return create<Store>()((...a) => ({
    ...createNodeSlice(...a),
    ...createPeersSlice(...a),
    ...createActivitySlice(...a),
    ...createRuntimeSlice(...a),
    ...createEarningsSlice(...a),
    transport,
    setConnected: (connected) => a[0]({ connected })
  }))
}

export type AppStore = ReturnType<typeof createStore>

/**
 * Wires pushed events to the slices: activity/runtime events update in place; anything that changes
 * what the node or its peers look like triggers one coalesced refetch. No polling.
 */
export function connectLive(store: AppStore): () => void {
  const timers = new Map<string, ReturnType<typeof setTimeout>>()
  const soon = (key: string, fn: () => Promise<void>, ms = 200): void => {
    if (timers.has(key)) return
    timers.set(
      key,
      setTimeout(() => {
        timers.delete(key)
        void fn()
      }, ms)
    )
  }
  const s = () => store.getState()

  async function backfill(): Promise<void> {
    const recent = await s().transport.invoke('events:recent', { limit: 500 })
    if (!recent.ok) return
    // events that already arrived live are not applied twice
    for (const event of recent.value as PushedEvent[])
      if (firstLive === undefined || event.time < firstLive) apply(event, false)
  }

  let firstLive: number | undefined
  function apply(event: PushedEvent, live = true): void {
    if (live) firstLive ??= event.time
    s().applyActivity(event)
    s().applyRuntime(event)
    if (!live) return
    if (
      event.name === 'status:changed' ||
      event.name === 'runtime:status' ||
      event.name === 'job:served' ||
      event.name === 'request:finished'
    ) {
      soon('status', () => s().refreshStatus())
    }
    if (event.name === 'job:served' || event.name === 'request:finished' || event.name === 'status:changed') {
      // a receipt's countersignature comes a moment after the job: let it land first
      soon('earnings', () => s().refreshEarnings(), 1_000)
    }
    if (event.name === 'peer:updated' || event.name === 'peer:removed' || event.name === 'status:changed') {
      soon('peers', () => s().refreshPeers())
    }
  }

  let wasConnected: boolean | undefined
  const unsubscribe = s().transport.subscribe(apply, (connected) => {
    s().setConnected(connected)
    if (connected && wasConnected !== true) {
      // (re)connected: events may have been missed, so fetch the whole picture once
      void s().refreshStatus()
      void s().refreshPeers()
      void s().refreshSettings()
      void s().refreshEarnings()
      if (wasConnected === undefined) void backfill()
    }
    if (!connected) void s().refreshStatus() // turns into a clear "node unreachable" state
    wasConnected = connected
  })
  void s().refreshStatus()
  return () => {
    unsubscribe()
    for (const t of timers.values()) clearTimeout(t)
  }
}
