import type { StateCreator } from 'zustand'
import type { EarningsResponse, VerifyReport } from '../../../shared/earnings'
import type { IpcError } from '../../../shared/ipc'
import type { Store } from './index'

export interface EarningsSlice {
  earnings?: EarningsResponse
  earningsError?: IpcError
  verify?: VerifyReport
  verifyError?: IpcError
  verifying: boolean
  refreshEarnings(): Promise<void>
  verifyLedger(): Promise<void>
}

export const createEarningsSlice: StateCreator<Store, [], [], EarningsSlice> = (set, get) => ({
  verifying: false,
  async refreshEarnings() {
    const result = await get().transport.invoke('earnings:get', { days: 14, recent: 25 })
    if (result.ok) set({ earnings: result.value, earningsError: undefined })
    else set({ earningsError: result.error })
  },
  async verifyLedger() {
    set({ verifying: true, verifyError: undefined })
    const result = await get().transport.invoke('earnings:verify', {})
    if (result.ok) set({ verify: result.value, verifying: false })
    else set({ verifyError: result.error, verifying: false })
  }
})
