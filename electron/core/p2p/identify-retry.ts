import type { ComponentLogger, Connection, IdentifyResult, Libp2pEvents, Logger, Startable } from '@libp2p/interface'
import type { TypedEventTarget } from 'main-event'

/** libp2p's identify gives up after 5 s; look a little later whether it succeeded. */
const CHECK_AFTER_MS = 6_000
/** A retry may wait on a peer busy with many joiners at once. */
const RETRY_TIMEOUT_MS = 15_000
const MAX_RETRIES = 3

export interface IdentifyRetryComponents {
  events: TypedEventTarget<Libp2pEvents>
  identify: { identify(connection: Connection, options?: { signal?: AbortSignal }): Promise<IdentifyResult> }
  logger: ComponentLogger
}

export interface IdentifyRetryInit {
  checkAfterMs?: number
  retryTimeoutMs?: number
  maxRetries?: number
}

/**
 * Identifies a connection again when libp2p's identify on it failed, and closes it when that keeps
 * failing. libp2p runs identify once per new connection and swallows a failure; until a connection
 * is identified, kad-dht, gossipsub and discovery do not know the peer speaks their protocols. On a
 * loaded machine a joining node's only connection (to its busy bootstrap peer) could so stay open but
 * useless for good: the node was not alone, so it never re-joined, and it never heard of a provider.
 */
export class IdentifyRetry implements Startable {
  private readonly log: Logger
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private readonly identified = new WeakSet<Connection>()
  private controller = new AbortController()
  /** identify retries started, and connections closed for never identifying (for tests and logs) */
  readonly counts = { retried: 0, closed: 0 }

  constructor(
    private readonly components: IdentifyRetryComponents,
    private readonly init: IdentifyRetryInit = {}
  ) {
    this.log = components.logger.forComponent('meshwork:identify-retry')
  }

  readonly [Symbol.toStringTag] = 'meshwork:identify-retry'

  start(): void {
    this.controller = new AbortController()
    this.components.events.addEventListener('connection:open', this.onOpen)
    this.components.events.addEventListener('peer:identify', this.onIdentify)
  }

  stop(): void {
    this.controller.abort()
    this.components.events.removeEventListener('connection:open', this.onOpen)
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    for (const timer of this.timers.values()) clearTimeout(timer)
    this.timers.clear()
  }

  private readonly onOpen = (evt: CustomEvent<Connection>): void => this.schedule(evt.detail, 0)

  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    this.identified.add(evt.detail.connection)
  }

  private schedule(connection: Connection, retries: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(connection.id)
      void this.check(connection, retries)
    }, this.init.checkAfterMs ?? CHECK_AFTER_MS)
    timer.unref()
    this.timers.set(connection.id, timer)
  }

  private async check(connection: Connection, retries: number): Promise<void> {
    if (this.identified.has(connection) || connection.status !== 'open' || this.controller.signal.aborted) return
    if (retries >= (this.init.maxRetries ?? MAX_RETRIES)) {
      this.counts.closed++
      this.log('closing connection %s to %p: never identified', connection.id, connection.remotePeer)
      await connection.close({ signal: AbortSignal.timeout(1_000) }).catch((err: Error) => connection.abort(err))
      return
    }
    this.counts.retried++
    const timeout = AbortSignal.timeout(this.init.retryTimeoutMs ?? RETRY_TIMEOUT_MS)
    try {
      // success dispatches peer:identify, as libp2p's own run does: every protocol topology hears of the peer
      await this.components.identify.identify(connection, {
        signal: AbortSignal.any([this.controller.signal, timeout])
      })
    } catch (err) {
      this.log('identify of %p failed again (%d) - %e', connection.remotePeer, retries + 1, err)
      if (!this.controller.signal.aborted) this.schedule(connection, retries + 1)
    }
  }
}

/** libp2p service factory: `services: { identifyRetry: identifyRetry() }` (after `identify`). */
export function identifyRetry(init: IdentifyRetryInit = {}) {
  return (components: IdentifyRetryComponents) => new IdentifyRetry(components, init)
}
