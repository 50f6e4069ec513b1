/**
 * Channel and event names of the dashboard contract, without zod, so the sandboxed preload stays tiny.
 * shared/ipc.ts holds the schemas and checks (at compile time) that it covers exactly these names.
 */
export const INVOKE_CHANNELS = [
  'status:get',
  'peers:list',
  'earning:pause',
  'earning:resume',
  'settings:get',
  'events:recent',
  'earnings:get',
  'earnings:verify',
  'prices:set'
] as const
export type InvokeChannel = (typeof INVOKE_CHANNELS)[number]

export const PUSH_EVENTS = [
  'status:changed',
  'peer:updated',
  'peer:removed',
  'runtime:status',
  'runtime:progress',
  'runtime:log',
  'request:started',
  'request:attempt',
  'request:failover',
  'request:finished',
  'job:served',
  'benchmark:progress'
] as const
export type PushEventName = (typeof PUSH_EVENTS)[number]

/** Stable error codes of the result envelope. */
export const IPC_ERRORS = {
  unknownChannel: 'unknown_channel',
  invalidArgs: 'invalid_args',
  tooLarge: 'payload_too_large',
  forbidden: 'forbidden',
  internal: 'internal_error',
  unreachable: 'node_unreachable',
  badResult: 'invalid_result'
} as const

/** Electron IPC channel names used between preload and main. */
export const IPC_INVOKE = 'meshwork:invoke'
export const IPC_EVENT = 'meshwork:event'

export function isInvokeChannel(name: unknown): name is InvokeChannel {
  return typeof name === 'string' && (INVOKE_CHANNELS as readonly string[]).includes(name)
}

export function isPushEvent(name: unknown): name is PushEventName {
  return typeof name === 'string' && (PUSH_EVENTS as readonly string[]).includes(name)
}
