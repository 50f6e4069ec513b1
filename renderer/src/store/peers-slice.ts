import type { StateCreator } from 'zustand'
import type { PeerView } from '../../../shared/api'
import type { IpcError } from '../../../shared/ipc'
import type { Store } from './index'

export interface PeersSlice {
  peers: PeerView[]
  peersLoaded: boolean
  peersError?: IpcError
  /** Also list peers that are no longer believed alive. */
  showOffline: boolean
  refreshPeers(): Promise<void>
  setShowOffline(show: boolean): void
}

export const createPeersSlice: StateCreator<Store, [], [], PeersSlice> = (set, get) => ({
  peers: [],
  peersLoaded: false,
  showOffline: false,
  async refreshPeers() {
    const result = await get().transport.invoke('peers:list', { all: get().showOffline })
    if (result.ok) set({ peers: result.value.peers, peersLoaded: true, peersError: undefined })
    else set({ peersError: result.error })
  },
  setShowOffline(show) {
    set({ showOffline: show })
    void get().refreshPeers()
  }
})
