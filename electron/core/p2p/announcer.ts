import type { Logger } from '../util/logger'
import type { MeshLibp2p } from './libp2p'
import { modelCid } from './model-cid'

/**
 * Several of libp2p's dial timeouts (ADDRESS_DIAL_TIMEOUT_MS): a DHT peer whose address leads nowhere
 * holds a query that long, and one such peer among the closest must not fail every announcement.
 */
const PROVIDE_TIMEOUT_MS = 20_000
/** Once announced, kad-dht re-provides by itself; we only announce again after this. */
const ANNOUNCED_FOR_MS = 5 * 60_000

/**
 * Announces in the DHT what this node serves (each model's key and the "any provider" key), in the
 * background: a slow announcement does not hold up the lookups that find other providers.
 */
export class Announcer {
  private readonly announcedAt = new Map<string, number>()
  private inFlight?: Promise<void>

  constructor(
    private readonly libp2p: MeshLibp2p,
    private readonly logger: Logger,
    private readonly signal: AbortSignal
  ) {}

  /** Starts announcing the keys that are due (unless a round is running); true while some are still due. */
  announce(models: string[]): boolean {
    const keys = models.length > 0 ? ['*', ...models] : []
    const due = keys.filter((k) => Date.now() - (this.announcedAt.get(k) ?? 0) >= ANNOUNCED_FOR_MS)
    if (due.length > 0 && this.inFlight === undefined)
      this.inFlight = this.provide(due).finally(() => (this.inFlight = undefined))
    return due.length > 0
  }

  /** Resolves when the round in flight (if any) is over; for tests and shutdown. */
  settled(): Promise<void> {
    return this.inFlight ?? Promise.resolve()
  }

  private async provide(keys: string[]): Promise<void> {
    for (const name of keys) {
      if (this.signal.aborted) return
      const signal = AbortSignal.any([this.signal, AbortSignal.timeout(PROVIDE_TIMEOUT_MS)])
      const cid = await modelCid(name) // '*' is the "any provider" key
      await this.libp2p.contentRouting
        .provide(cid, { signal })
        .then(() => this.announcedAt.set(name, Date.now()))
        .catch((err: Error) => this.logger.debug('provide failed, will retry', { model: name, err }))
    }
  }
}
