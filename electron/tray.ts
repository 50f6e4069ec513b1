import type { Menu, MenuItemConstructorOptions, NativeImage, Tray } from 'electron'
import type { StatusResponse } from '../shared/api'

export type TrayMode = 'starting' | 'earning' | 'paused' | 'not-serving' | 'router-only' | 'offline' | 'stopping'

export interface TrayState {
  mode: TrayMode
  /** Jobs this node served for the mesh. */
  served: number
  /** A pause/resume call is in flight. */
  busy?: boolean
}

export type TrayAction = 'toggle-earning' | 'open-dashboard' | 'quit'

/** A menu item with an id instead of a click handler, so the model stays a pure value. */
export type TrayItem = Omit<MenuItemConstructorOptions, 'click' | 'id'> & { id?: TrayAction | 'status' }

const MODE_TEXT: Record<TrayMode, string> = {
  starting: 'Starting…',
  earning: 'Earning',
  paused: 'Paused',
  'not-serving': 'Not serving (see dashboard)',
  'router-only': 'Router only (--no-serve)',
  offline: 'Offline',
  stopping: 'Stopping…'
}

export function trayStateFromStatus(status: StatusResponse | undefined, reachable: boolean): TrayState {
  if (!reachable || status === undefined)
    return { mode: status === undefined && reachable ? 'starting' : 'offline', served: status?.stats.served ?? 0 }
  const served = status.stats.served
  if (!status.serving) return { mode: 'router-only', served }
  const broken = status.runtime.state === 'failed' || status.runtime.state === 'unavailable'
  return { mode: status.paused ? 'paused' : broken ? 'not-serving' : 'earning', served }
}

export function trayTooltip(state: TrayState): string {
  return `Meshwork — ${MODE_TEXT[state.mode]} · ${state.served} ${state.served === 1 ? 'job' : 'jobs'} served`
}

/** The tray menu as data: status line, the earning toggle, Open dashboard, Quit. */
export function buildTrayMenu(state: TrayState): TrayItem[] {
  const canToggle =
    (state.mode === 'earning' || state.mode === 'paused' || state.mode === 'not-serving') && state.busy !== true
  return [
    {
      id: 'status',
      label: `${MODE_TEXT[state.mode]} · ${state.served} ${state.served === 1 ? 'job' : 'jobs'} served`,
      enabled: false
    },
    { type: 'separator' },
    { id: 'toggle-earning', label: state.mode === 'paused' ? 'Resume earning' : 'Pause earning', enabled: canToggle },
    { id: 'open-dashboard', label: 'Open dashboard', enabled: state.mode !== 'stopping' },
    { type: 'separator' },
    { id: 'quit', label: 'Quit Meshwork', enabled: state.mode !== 'stopping' }
  ]
}

export function trayIconName(state: TrayState): string {
  // a router-only node is healthy but takes no jobs: the paused icon, not the offline one
  const kind =
    state.mode === 'earning'
      ? 'earning'
      : state.mode === 'paused' || state.mode === 'router-only'
        ? 'paused'
        : 'offline'
  return `tray-${kind}.png`
}

export interface TrayDeps {
  Tray: typeof Tray
  Menu: typeof Menu
  icon(name: string): NativeImage
  onAction(action: TrayAction): void
}

/** Creates the tray icon; call update() whenever the state changes. */
export function createTray(deps: TrayDeps, initial: TrayState): { update(state: TrayState): void; destroy(): void } {
  const tray = new deps.Tray(deps.icon(trayIconName(initial)))
  const update = (state: TrayState): void => {
    const items = buildTrayMenu(state).map((item) => {
      const action = item.id
      return action === undefined || action === 'status' ? item : { ...item, click: () => deps.onAction(action) }
    })
    tray.setContextMenu(deps.Menu.buildFromTemplate(items as MenuItemConstructorOptions[]))
    tray.setToolTip(trayTooltip(state))
    tray.setImage(deps.icon(trayIconName(state)))
  }
  update(initial)
  tray.on('click', () => deps.onAction('open-dashboard'))
  return { update, destroy: () => tray.destroy() }
}
