import { IPC_ERRORS, parseInvoke, type IpcResult, type ParsedCall } from '../../../shared/ipc'
import type { NodeControl } from '../control'
import type { Logger } from '../util/logger'
import type { EventHistory } from './event-history'
import { eventHistoryFor } from './event-history'

export interface DispatchOutcome {
  result: IpcResult<unknown>
  /** HTTP status that fits the outcome (Electron ignores it). */
  status: number
}

export interface IpcDispatcher {
  dispatch(channel: unknown, args: unknown): Promise<DispatchOutcome>
  readonly history: EventHistory
}

/** Validates a call against shared/ipc.ts and runs it on the node. Never throws. */
export function createIpcDispatcher(
  control: NodeControl,
  options: { logger?: Logger; history?: EventHistory } = {}
): IpcDispatcher {
  const history = options.history ?? eventHistoryFor(control.events)

  async function run(call: ParsedCall): Promise<unknown> {
    switch (call.channel) {
      case 'status:get':
        return control.status()
      case 'peers:list':
        return control.peers({ all: call.args.all === true })
      case 'earning:pause':
        return control.pause()
      case 'earning:resume':
        return control.resume()
      case 'settings:get':
        if (control.settings === undefined)
          throw Object.assign(new Error('This node does not report its settings yet'), {
            code: 'not_supported',
            status: 501
          })
        return control.settings()
      case 'events:recent':
        return history.recent(call.args.limit)
      case 'earnings:get':
        if (control.earnings === undefined) throw noEarnings()
        return control.earnings(call.args)
      case 'earnings:verify':
        if (control.verifyEarnings === undefined) throw noEarnings()
        return control.verifyEarnings()
      case 'prices:set':
        if (control.setPrices === undefined)
          throw Object.assign(new Error('This node cannot change its prices here'), {
            code: 'not_supported',
            status: 501
          })
        return control.setPrices(call.args)
    }
  }

  return {
    history,
    async dispatch(channel, args) {
      const parsed = parseInvoke(channel, args)
      if (!parsed.ok) {
        const status = parsed.error.code === IPC_ERRORS.tooLarge ? 413 : 400
        return { result: parsed, status }
      }
      try {
        return { result: { ok: true, value: await run(parsed.call) }, status: 200 }
      } catch (err) {
        const e = err as { code?: unknown; status?: unknown; message?: unknown }
        const code = typeof e.code === 'string' ? e.code : IPC_ERRORS.internal
        const status = typeof e.status === 'number' && e.status >= 400 && e.status < 600 ? e.status : 500
        options.logger?.warn('dashboard call failed', { channel: parsed.call.channel, err })
        return { result: { ok: false, error: { code, message: String(e.message ?? err) } }, status }
      }
    }
  }
}

const noEarnings = (): Error =>
  Object.assign(new Error('This node keeps no earnings'), { code: 'not_supported', status: 501 })
