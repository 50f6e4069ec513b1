import type { ComponentLogger, Connection, Libp2p, Logger, Startable } from '@libp2p/interface'
import { AdaptiveTimeout, type AdaptiveTimeoutInit, byteStream } from '@libp2p/utils'
import { equals } from 'uint8arrays/equals'
import { InboundActivity } from './inbound-activity'

export const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_BYTES = 32

export interface ConnectionPingerInit {
  intervalMs: number
  /** How long a ping may take (adapts to the ones that succeeded, within these bounds). */
  timeout?: AdaptiveTimeoutInit
}

export interface ConnectionPingerComponents {
  connectionManager: { getConnections(): Connection[] }
  events: Pick<Libp2p, 'addEventListener' | 'removeEventListener'>
  logger: ComponentLogger
}

/**
 * Pings every connection once per interval from the end that dialled it, and aborts one whose ping
 * fails, in place of libp2p's connection monitor, which pings from both ends: twice the streams for
 * the same news, and per-connection pings were the largest share of a node's idle traffic that grows
 * with the mesh. The other end still sees the ping go by; should the dialler vanish without closing,
 * that end's socket closes after its inactivity timeout (2 min for libp2p's TCP).
 * A connection that received data since its last check is not pinged either: its peer is alive, and
 * in a mesh most connections carry some gossip or DHT traffic each minute. A peer that stops sending
 * is pinged at the next round.
 */
export class ConnectionPinger implements Startable {
  private readonly log: Logger
  private readonly timeout: AdaptiveTimeout
  private timer: NodeJS.Timeout | undefined
  private controller = new AbortController()
  private readonly activity: InboundActivity
  /** pings sent since start (for tests and logs) */
  sent = 0
  /** pings left out since start because the connection had received data (for tests and logs) */
  skipped = 0

  constructor(
    private readonly components: ConnectionPingerComponents,
    private readonly init: ConnectionPingerInit
  ) {
    this.log = components.logger.forComponent('meshwork:connection-pinger')
    this.timeout = new AdaptiveTimeout(init.timeout)
    this.activity = new InboundActivity(Math.min(1_000, init.intervalMs / 10))
  }

  readonly [Symbol.toStringTag] = 'meshwork:connection-pinger'

  start(): void {
    this.controller = new AbortController()
    this.components.events.addEventListener('connection:open', this.onOpen)
    this.timer = setInterval(() => this.pingAll(), this.init.intervalMs)
  }

  stop(): void {
    this.controller.abort()
    this.components.events.removeEventListener('connection:open', this.onOpen)
    clearInterval(this.timer)
  }

  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    if (evt.detail.direction === 'outbound') this.activity.watch(evt.detail)
  }

  private pingAll(): void {
    for (const connection of this.components.connectionManager.getConnections()) {
      if (connection.direction !== 'outbound' || connection.status !== 'open') continue
      if (this.activity.heardSinceCheck(connection)) {
        this.skipped++
        continue
      }
      this.ping(connection).then(
        () => this.activity.pinged(connection),
        (err: Error) => {
          if (this.controller.signal.aborted) return
          this.log('ping of %p failed, aborting the connection - %e', connection.remotePeer, err)
          connection.abort(err)
        }
      )
    }
  }

  private async ping(connection: Connection): Promise<void> {
    const signal = this.timeout.getTimeoutSignal({ signal: this.controller.signal })
    this.sent++
    let started = Date.now()
    try {
      const stream = await connection.newStream(PING_PROTOCOL, { signal, runOnLimitedConnection: true })
      try {
        const bytes = byteStream(stream)
        const payload = crypto.getRandomValues(new Uint8Array(PING_BYTES))
        started = Date.now()
        const [, echo] = await Promise.all([
          bytes.write(payload, { signal }),
          bytes.read({ bytes: PING_BYTES, signal })
        ])
        if (!equals(echo.subarray(), payload)) throw new Error('ping answered with other bytes')
        connection.rtt = Date.now() - started
        await stream.close({ signal })
      } catch (err) {
        stream.abort(err as Error)
        throw err
      }
    } catch (err) {
      // a peer without the ping protocol still answered the negotiation: alive
      if ((err as Error).name !== 'UnsupportedProtocolError') throw err
      connection.rtt = (Date.now() - started) / 2
    } finally {
      this.timeout.cleanUp(signal)
    }
  }
}

export function connectionPinger(init: ConnectionPingerInit) {
  return (components: ConnectionPingerComponents) => new ConnectionPinger(components, init)
}
