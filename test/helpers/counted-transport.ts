import { memory } from '@libp2p/memory'
import type { Connection, MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface'

/** What one node's connections carried, counted on the raw (encrypted) connection below noise and yamux. */
export interface Traffic {
  /** writes to the wire: each is one or more yamux frames sealed by noise */
  msgsSent: number
  msgsReceived: number
  bytesSent: number
  bytesReceived: number
  connectionsOpened: number
}

export const emptyTraffic = (): Traffic => ({
  msgsSent: 0,
  msgsReceived: 0,
  bytesSent: 0,
  bytesReceived: 0,
  connectionsOpened: 0
})

export function trafficDelta(after: Traffic, before: Traffic): Traffic {
  const out = emptyTraffic()
  for (const key of Object.keys(out) as Array<keyof Traffic>) out[key] = after[key] - before[key]
  return out
}

type Chunk = { byteLength: number }
interface Instrumentable {
  sendData(data: Chunk): unknown
  onData(data: Chunk): void
}

/** Counts every chunk the raw connection sends and receives into `traffic`. */
function instrument(maConn: MultiaddrConnection, traffic: Traffic): void {
  const conn = maConn as unknown as Instrumentable
  const sendData = conn.sendData.bind(conn)
  const onData = conn.onData.bind(conn)
  traffic.connectionsOpened++
  conn.sendData = (data) => {
    traffic.msgsSent++
    traffic.bytesSent += data.byteLength
    return sendData(data)
  }
  conn.onData = (data) => {
    traffic.msgsReceived++
    traffic.bytesReceived += data.byteLength
    onData(data)
  }
}

function countingUpgrader(upgrader: Upgrader, traffic: Traffic): Upgrader {
  return new Proxy(upgrader, {
    get(target, key) {
      if (key === 'upgradeOutbound' || key === 'upgradeInbound') {
        return (maConn: MultiaddrConnection, opts: unknown) => {
          instrument(maConn, traffic)
          return (target[key] as (c: MultiaddrConnection, o: unknown) => unknown).call(target, maConn, opts)
        }
      }
      const value = Reflect.get(target, key) as unknown
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    }
  })
}

/**
 * libp2p's in-process memory transport, with every connection's raw traffic counted per node:
 * the upgrader handed to dial and to the listener is wrapped, so both directions are seen.
 */
export function countedMemoryTransport(traffic: Traffic): (components: any) => Transport {
  const factory = memory()
  return (components) => {
    const transport = factory(components)
    const dial = transport.dial.bind(transport)
    const createListener = transport.createListener.bind(transport)
    transport.dial = (ma, options) => dial(ma, { ...options, upgrader: countingUpgrader(options.upgrader, traffic) })
    transport.createListener = (options) =>
      createListener({ ...options, upgrader: countingUpgrader(options.upgrader, traffic) })
    return transport
  }
}

/** Streams this node opened, by protocol (count at every peer to see every stream of the mesh once). */
export type StreamCounts = Record<string, number>

/** Wraps a new connection's newStream so each outbound stream is counted under its first protocol. */
export function countStreams(connection: Connection, counts: StreamCounts): void {
  const newStream = connection.newStream.bind(connection)
  connection.newStream = (protocols, options) => {
    const name = Array.isArray(protocols) ? protocols[0] : protocols
    counts[name] = (counts[name] ?? 0) + 1
    return newStream(protocols, options)
  }
}
