import type { MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface'

type TransportFactory = (components: any) => Transport

/**
 * A transport whose every raw connection, dialled or accepted, is handed to `hook` before libp2p
 * upgrades it (noise, yamux): the upgrader given to dial and to the listener is wrapped.
 */
export function withConnectionHook(
  factory: TransportFactory,
  hook: (maConn: MultiaddrConnection) => void
): TransportFactory {
  return (components) => {
    const transport = factory(components)
    const dial = transport.dial.bind(transport)
    const createListener = transport.createListener.bind(transport)
    transport.dial = (ma, options) => dial(ma, { ...options, upgrader: hooked(options.upgrader, hook) })
    transport.createListener = (options) => createListener({ ...options, upgrader: hooked(options.upgrader, hook) })
    return transport
  }
}

function hooked(upgrader: Upgrader, hook: (maConn: MultiaddrConnection) => void): Upgrader {
  return new Proxy(upgrader, {
    get(target, key) {
      if (key === 'upgradeOutbound' || key === 'upgradeInbound') {
        return (maConn: MultiaddrConnection, opts: unknown) => {
          hook(maConn)
          return (target[key] as (c: MultiaddrConnection, o: unknown) => unknown).call(target, maConn, opts)
        }
      }
      const value = Reflect.get(target, key) as unknown
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    }
  })
}
