import { describe, expect, it } from 'vitest'
import { createBridge, type RendererIpc } from '../../electron/bridge'
import { isTrustedSender, registerIpc } from '../../electron/ipc'
import { IPC_EVENT, IPC_INVOKE } from '../../shared/ipc'
import { createFixtureControl } from '../fixtures/dashboard/control'

const APP = 'file:///opt/meshwork/out/renderer/index.html'
type Handler = (event: unknown, ...args: unknown[]) => Promise<unknown>

function fakeMain() {
  const handlers = new Map<string, Handler>()
  return {
    handlers,
    ipcMain: {
      handle: (channel: string, h: Handler) => void handlers.set(channel, h),
      removeHandler: (channel: string) => void handlers.delete(channel)
    }
  }
}

const topFrame = (url: string) => ({ senderFrame: { url, parent: null } })

describe('Electron IPC (main side)', () => {
  it('checks the sender frame', () => {
    expect(isTrustedSender(topFrame(`${APP}#/peers`) as never, APP)).toBe(true)
    expect(isTrustedSender(topFrame('https://evil.example/') as never, APP)).toBe(false)
    expect(isTrustedSender({ senderFrame: { url: APP, parent: {} } } as never, APP)).toBe(false)
    expect(isTrustedSender({ senderFrame: null } as never, APP)).toBe(false)
  })

  it('serves the contract, rejects unknown channels, bad payloads and foreign frames, and pushes events', async () => {
    const control = createFixtureControl()
    const { handlers, ipcMain } = fakeMain()
    const sent: unknown[] = []
    const wc = { isDestroyed: () => false, send: (channel: string, msg: unknown) => sent.push([channel, msg]) }
    const dispose = registerIpc({ ipcMain: ipcMain as never, control, appUrl: APP, targets: () => [wc as never] })
    const invoke = handlers.get(IPC_INVOKE)!
    expect(await invoke(topFrame(APP), 'earning:pause', {})).toMatchObject({ ok: true, value: { paused: true } })
    expect(await invoke(topFrame(APP), 'fs:read', {})).toMatchObject({ ok: false, error: { code: 'unknown_channel' } })
    expect(await invoke(topFrame(APP), 'peers:list', { all: 'yes' })).toMatchObject({
      ok: false,
      error: { code: 'invalid_args' }
    })
    expect(await invoke(topFrame('https://evil.example/'), 'earning:resume', {})).toMatchObject({
      ok: false,
      error: { code: 'forbidden' }
    })
    expect(control.state.status.paused).toBe(true)
    expect(sent).toContainEqual([
      IPC_EVENT,
      expect.objectContaining({ name: 'status:changed', payload: { paused: true } })
    ])
    dispose()
    expect(handlers.size).toBe(0)
    control.events.emit('status:changed', { paused: false })
    expect(sent.length).toBe(1)
  })
})

describe('preload bridge', () => {
  function fakeRenderer() {
    const listeners = new Set<(e: unknown, ...a: unknown[]) => void>()
    const calls: unknown[][] = []
    const ipc: RendererIpc = {
      invoke: async (...args) => {
        calls.push(args)
        return { ok: true, value: null }
      },
      on: (_c, l) => listeners.add(l),
      removeListener: (_c, l) => listeners.delete(l)
    }
    return { ipc, listeners, calls, push: (msg: unknown) => listeners.forEach((l) => l({}, msg)) }
  }

  it('only forwards contract channels', async () => {
    const r = fakeRenderer()
    const bridge = createBridge(r.ipc)
    await bridge.invoke('status:get')
    expect(r.calls).toEqual([[IPC_INVOKE, 'status:get', {}]])
    expect(await bridge.invoke('shell:openExternal', { url: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'unknown_channel' }
    })
    expect(await bridge.invoke('__proto__')).toMatchObject({ ok: false })
    expect(r.calls.length).toBe(1)
  })

  it('only delivers contract events, and unsubscribes', () => {
    const r = fakeRenderer()
    const bridge = createBridge(r.ipc)
    expect(() => bridge.on('secret:event' as never, () => {})).toThrow(/Unknown event/)
    const all: unknown[] = []
    const paused: unknown[] = []
    const offAll = bridge.on('*', (e) => all.push(e))
    bridge.on('status:changed', (e) => paused.push(e))
    r.push({ name: 'status:changed', payload: { paused: true }, time: 1 })
    r.push({ name: 'peer:updated', payload: { peerId: 'a', alive: true, paused: false }, time: 2 })
    r.push({ name: 'not-in-contract', payload: {}, time: 3 })
    expect(all.length).toBe(2)
    expect(paused.length).toBe(1)
    offAll()
    expect(r.listeners.size).toBe(1)
  })
})
