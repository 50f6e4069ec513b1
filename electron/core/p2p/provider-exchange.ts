import type { Libp2p, PeerId, PeerInfo, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import type { Logger } from '../util/logger'
import type { AbortOptions } from '../util/startable'
import type { PeerDirectory } from './peer-directory'
import { type ProviderIntake, takeProvider } from './provider-intake'

/**
 * "Which providers do you know?", asked of the first peers a joining node meets. Their answer names
 * peers and addresses only: a named provider enters this node's table only once its own signed advert,
 * fetched from it, verifies, as one a DHT lookup names. It spares a newcomer the lookup's hops (each a
 * dial and a handshake, slow on a loaded machine) and the wait for the next heartbeat.
 */
export const PROVIDERS_PROTOCOL = '/meshwork/providers/1.0.0'

/** Entries in one answer, addresses per entry, bytes of the answer (64 entries of 4 addresses fit). */
export const MAX_EXCHANGE_PROVIDERS = 64
const MAX_ADDRESSES = 4
const MAX_ANSWER_BYTES = 64 * 1024
const TIMEOUT_MS = 5_000
const ANSWER_REUSE_MS = 1_000
/**
 * Peers asked at most per start. Asking stops at the first answer that names a provider; nodes that
 * start together know nothing at first, so an empty answer leaves room to ask the next peer met.
 */
export const MAX_ASKS = 8

const AnswerSchema = z.object({
  providers: z
    .array(
      z.object({
        peerId: z.string().max(128),
        addrs: z.array(z.string().max(256)).max(MAX_ADDRESSES)
      })
    )
    .max(MAX_EXCHANGE_PROVIDERS)
})
type Answer = z.infer<typeof AnswerSchema>

type ExchangeLibp2p = Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol' | 'peerStore'>

/** The answer for the providers this node lists now, cut to fit the size limit. */
async function answerFor(libp2p: ExchangeLibp2p, providers: string[]): Promise<Uint8Array> {
  const answer: Answer = { providers: [] }
  for (const peerId of providers.slice(0, MAX_EXCHANGE_PROVIDERS)) {
    const peer = await libp2p.peerStore.get(peerIdFromString(peerId)).catch(() => undefined)
    const addrs = (peer?.addresses ?? []).slice(0, MAX_ADDRESSES).map((a) => a.multiaddr.toString())
    answer.providers.push({ peerId, addrs: addrs.filter((a) => a.length <= 256) })
  }
  let bytes = new TextEncoder().encode(JSON.stringify(answer))
  while (bytes.byteLength > MAX_ANSWER_BYTES && answer.providers.length > 0) {
    answer.providers.length = Math.floor(answer.providers.length / 2)
    bytes = new TextEncoder().encode(JSON.stringify(answer))
  }
  return bytes
}

/**
 * Answers each asker with the providers `listed()` names. One answer serves every asker for a second,
 * so a peer that asks in a loop costs one peer-store read per provider a second, not one per ask.
 */
export async function serveProviderExchange(
  libp2p: ExchangeLibp2p,
  listed: () => string[],
  logger: Logger
): Promise<void> {
  let cached: { at: number; answer: Promise<Uint8Array> } | undefined
  const current = (): Promise<Uint8Array> => {
    if (cached === undefined || Date.now() - cached.at >= ANSWER_REUSE_MS)
      cached = { at: Date.now(), answer: answerFor(libp2p, listed()) }
    return cached.answer
  }
  await libp2p.handle(
    PROVIDERS_PROTOCOL,
    async (stream: Stream) => {
      const signal = AbortSignal.timeout(TIMEOUT_MS)
      try {
        const lp = lpStream(stream, { maxDataLength: MAX_ANSWER_BYTES })
        await lp.write(await current(), { signal })
        await stream.close({ signal })
      } catch (err) {
        logger.debug('provider exchange answer failed', { err })
        stream.abort(err as Error)
      }
    },
    { maxInboundStreams: 8 }
  )
}

/** Asks `peer` for the providers it knows: untrusted ids and addresses, parsed and bounded. */
export async function askProviders(
  libp2p: ExchangeLibp2p,
  peer: PeerId,
  options: AbortOptions = {}
): Promise<PeerInfo[]> {
  const signal = AbortSignal.any([AbortSignal.timeout(TIMEOUT_MS), ...(options.signal ? [options.signal] : [])])
  const stream = await libp2p.dialProtocol(peer, PROVIDERS_PROTOCOL, { signal })
  let frame: Uint8Array
  try {
    frame = (await lpStream(stream, { maxDataLength: MAX_ANSWER_BYTES }).read({ signal })).subarray()
    await stream.close({ signal }).catch(() => {})
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
  const answer = AnswerSchema.parse(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(frame)))
  const infos: PeerInfo[] = []
  for (const entry of answer.providers) {
    let id: PeerId
    try {
      id = peerIdFromString(entry.peerId)
    } catch {
      continue // not a peer id: skip it, keep the rest
    }
    const multiaddrs: Multiaddr[] = []
    for (const addr of entry.addrs) {
      try {
        multiaddrs.push(multiaddr(addr))
      } catch {
        // not a multiaddr
      }
    }
    infos.push({ id, multiaddrs })
  }
  return infos
}

export interface ProviderExchangeInit {
  libp2p: ExchangeLibp2p
  /** Its live providers are the answer; while it lists none, this node asks. */
  directory: Pick<PeerDirectory, 'list'>
  /** Where a named provider goes: watched, so that it enters only once its own advert verifies. */
  intake: ProviderIntake
  logger: Logger
  signal: AbortSignal
}

/** Answers every asker; asks the first peers that speak the protocol, one at a time, at most MAX_ASKS. */
export class ProviderExchange {
  private asked = 0
  private inFlight = false
  private answered = false

  constructor(private readonly init: ProviderExchangeInit) {}

  async start(): Promise<void> {
    const { libp2p, directory, logger } = this.init
    await serveProviderExchange(libp2p, () => directory.list().map((p) => p.peerId), logger)
  }

  /** A peer that speaks the protocol was identified: ask it, until one names a provider or this node lists one. */
  offer(peer: PeerId): void {
    if (this.inFlight || this.answered || this.asked >= MAX_ASKS || this.init.directory.list().length > 0) return
    this.asked++
    this.inFlight = true
    void this.ask(peer).finally(() => (this.inFlight = false))
  }

  private async ask(peer: PeerId): Promise<void> {
    const { libp2p, logger, signal } = this.init
    try {
      const providers = await askProviders(libp2p, peer, { signal })
      logger.debug('provider exchange answered', { peer: peer.toString(), providers: providers.length })
      if (providers.length > 0) this.answered = true
      for (const provider of providers) await takeProvider(this.init.intake, provider)
    } catch (err) {
      logger.debug('provider exchange failed', { peer: peer.toString(), err })
    }
  }
}
