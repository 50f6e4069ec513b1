import { describe, expect, it } from 'vitest'
import { buildTrayMenu, trayIconName, trayStateFromStatus, trayTooltip } from '../../electron/tray'
import { fixtureStatus } from '../fixtures/dashboard/control'

const labels = (items: ReturnType<typeof buildTrayMenu>) =>
  items.filter((i) => i.type !== 'separator').map((i) => i.label)
const item = (items: ReturnType<typeof buildTrayMenu>, id: string) => items.find((i) => i.id === id)

describe('tray menu model', () => {
  it('earning: status line, Pause earning, Open dashboard, Quit', () => {
    const menu = buildTrayMenu({ mode: 'earning', served: 12 })
    expect(labels(menu)).toEqual(['Earning · 12 jobs served', 'Pause earning', 'Open dashboard', 'Quit Meshwork'])
    expect(item(menu, 'status')?.enabled).toBe(false)
    expect(item(menu, 'toggle-earning')?.enabled).toBe(true)
    expect(menu.some((i) => 'click' in i)).toBe(false)
  })

  it('paused offers Resume earning; one job is singular', () => {
    const menu = buildTrayMenu({ mode: 'paused', served: 1 })
    expect(item(menu, 'status')?.label).toBe('Paused · 1 job served')
    expect(item(menu, 'toggle-earning')?.label).toBe('Resume earning')
  })

  it('disables the toggle while offline, starting, stopping, busy or serving nothing', () => {
    for (const mode of ['offline', 'starting', 'stopping', 'router-only'] as const) {
      expect(item(buildTrayMenu({ mode, served: 0 }), 'toggle-earning')?.enabled, mode).toBe(false)
    }
    expect(item(buildTrayMenu({ mode: 'earning', served: 0, busy: true }), 'toggle-earning')?.enabled).toBe(false)
    expect(item(buildTrayMenu({ mode: 'stopping', served: 0 }), 'quit')?.enabled).toBe(false)
    expect(item(buildTrayMenu({ mode: 'offline', served: 0 }), 'quit')?.enabled).toBe(true)
  })

  it('derives the state from the node status', () => {
    expect(trayStateFromStatus(fixtureStatus({ stats: { served: 3, routed: 0, failovers: 0 } }), true)).toEqual({
      mode: 'earning',
      served: 3
    })
    expect(trayStateFromStatus(fixtureStatus({ paused: true }), true).mode).toBe('paused')
    expect(trayStateFromStatus(fixtureStatus({ runtime: { kind: 'docker', state: 'unavailable' } }), true).mode).toBe(
      'not-serving'
    )
    expect(trayStateFromStatus(fixtureStatus({ serving: false, paused: true }), true).mode).toBe('router-only')
    expect(trayStateFromStatus(fixtureStatus(), false).mode).toBe('offline')
    expect(trayStateFromStatus(undefined, true).mode).toBe('starting')
  })

  it('picks an icon and tooltip per state', () => {
    expect(trayIconName({ mode: 'earning', served: 0 })).toBe('tray-earning.png')
    expect(trayIconName({ mode: 'paused', served: 0 })).toBe('tray-paused.png')
    expect(trayIconName({ mode: 'offline', served: 0 })).toBe('tray-offline.png')
    expect(trayIconName({ mode: 'router-only', served: 0 })).toBe('tray-paused.png')
    expect(trayTooltip({ mode: 'paused', served: 2 })).toBe('Meshwork — Paused · 2 jobs served')
  })
})
