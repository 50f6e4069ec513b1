import { memory } from '@libp2p/memory'
import type { Connection, MultiaddrConnection, Transport } from '@libp2p/interface'
import { withConnectionHook } from '../../electron/core/p2p/connection-hook'

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

/**
 * libp2p's in-process memory transport, with every connection's raw traffic counted per node
 * (both directions: dialled and accepted connections are seen).
 */
export function countedMemoryTransport(traffic: Traffic): (components: any) => Transport {
  return withConnectionHook(memory(), (maConn) => instrument(maConn, traffic))
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
