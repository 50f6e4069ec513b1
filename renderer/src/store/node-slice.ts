import type { StateCreator } from 'zustand'
import type { StatusResponse } from '../../../shared/api'
import type { IpcError, SettingsView } from '../../../shared/ipc'
import type { Store } from './index'

export interface NodeSlice {
  status?: StatusResponse
  statusError?: IpcError
  /** When the last status arrived (ms). */
  statusAt?: number
  settings?: SettingsView
  settingsError?: IpcError
  /** A pause/resume call is in flight. */
  toggling: boolean
  actionError?: IpcError
  refreshStatus(): Promise<void>
  refreshSettings(): Promise<void>
  setEarning(earning: boolean): Promise<void>
}

export const createNodeSlice: StateCreator<Store, [], [], NodeSlice> = (set, get) => ({
  toggling: false,
  async refreshStatus() {
    const result = await get().transport.invoke('status:get', {})
    if (result.ok) set({ status: result.value, statusError: undefined, statusAt: Date.now() })
    else set({ statusError: result.error })
  },
  async refreshSettings() {
    const result = await get().transport.invoke('settings:get', {})
    if (result.ok) set({ settings: result.value, settingsError: undefined })
    else set({ settingsError: result.error })
  },
  async setEarning(earning) {
    set({ toggling: true, actionError: undefined })
    const result = await get().transport.invoke(earning ? 'earning:resume' : 'earning:pause', {})
    if (result.ok) set({ status: result.value, statusError: undefined, statusAt: Date.now(), toggling: false })
    else set({ actionError: result.error, toggling: false })
  }
})
