import type { Connection } from '@libp2p/interface'

interface Activity {
  /** when the connection last received bytes (performance.now()) */
  heardAt: number
  /** received bytes after this count as news: the end of the last check (and a ping's tail) */
  checkedUntil: number
}

/**
 * Which connections have received data since they were last checked. A connection that did has a
 * live peer at its other end, and pinging it would only confirm that. Reads arriving bytes where
 * libp2p's transports hand them in (a connection's `maConn.onData`, the TCP and memory transports
 * alike); a connection whose transport has no such hook is never counted as heard from.
 */
export class InboundActivity {
  private readonly activity = new WeakMap<Connection, Activity>()

  /** @param pingTailMs after a ping, what the peer sends within this long may be that ping's close */
  constructor(private readonly pingTailMs: number) {}

  /** Starts watching a new connection (call on `connection:open`). */
  watch(connection: Connection): void {
    const maConn = (connection as unknown as { maConn?: { onData?: (data: unknown) => void } }).maConn
    if (maConn === undefined || typeof maConn.onData !== 'function' || this.activity.has(connection)) return
    const state: Activity = { heardAt: 0, checkedUntil: performance.now() }
    const onData = maConn.onData.bind(maConn)
    maConn.onData = (data) => {
      state.heardAt = performance.now()
      onData(data)
    }
    this.activity.set(connection, state)
  }

  /** Whether the connection received data since its last check; either way, this is its check now. */
  heardSinceCheck(connection: Connection): boolean {
    const state = this.activity.get(connection)
    if (state === undefined) return false
    const heard = state.heardAt > state.checkedUntil
    if (heard) state.checkedUntil = performance.now()
    return heard
  }

  /** A ping of the connection just succeeded: its own answer and close frames are no news. */
  pinged(connection: Connection): void {
    const state = this.activity.get(connection)
    if (state !== undefined) state.checkedUntil = performance.now() + this.pingTailMs
  }
}
