import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import type { PeerId, PeerInfo, Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  askProviders,
  MAX_ASKS,
  MAX_EXCHANGE_PROVIDERS,
  PROVIDERS_PROTOCOL,
  ProviderExchange,
  serveProviderExchange
} from '../../../electron/core/p2p/provider-exchange'
import { takeProvider } from '../../../electron/core/p2p/provider-intake'
import { createLogger } from '../../../electron/core/util/logger'
import { startTcpTestNode } from '../../helpers/tcp-test-node'

const logger = createLogger('test', { level: 'error' })

const node = () => startTcpTestNode({ services: { identify: identify() } })

type Node = Awaited<ReturnType<typeof node>>
let asker: Node
let answerer: Node
let provider: Node
const randomPeer = async (): Promise<PeerId> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

/** A hostile answerer: writes `frame` as its answer, whatever was asked. */
async function answerWith(frame: Uint8Array): Promise<void> {
  await answerer.unhandle(PROVIDERS_PROTOCOL)
  await answerer.handle(PROVIDERS_PROTOCOL, async (stream: Stream) => {
    await lpStream(stream, { maxDataLength: 1024 * 1024 }).write(frame)
    await stream.close()
  })
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

beforeAll(async () => {
  ;[asker, answerer, provider] = await Promise.all([node(), node(), node()])
  await answerer.dial(provider.getMultiaddrs()[0]) // the answerer knows the provider's addresses
  await asker.dial(answerer.getMultiaddrs()[0])
})

afterAll(async () => {
  await Promise.all([asker, answerer, provider].map((n) => n?.stop()))
})

describe('provider exchange', () => {
  it('names the providers the answerer lists, with addresses that reach them', async () => {
    await answerer.unhandle(PROVIDERS_PROTOCOL)
    await serveProviderExchange(answerer, () => [provider.peerId.toString()], logger)
    const named = await askProviders(asker, answerer.peerId)
    expect(named.map((p) => p.id.toString())).toEqual([provider.peerId.toString()])
    await asker.peerStore.merge(provider.peerId, { multiaddrs: named[0].multiaddrs })
    await asker.dial(provider.peerId) // the named addresses lead to the provider
    expect(asker.getConnections(provider.peerId).length).toBeGreaterThan(0)
  })

  it('reuses one answer for a second, however often a peer asks', async () => {
    await answerer.unhandle(PROVIDERS_PROTOCOL)
    let built = 0
    const listed = () => (built++, [provider.peerId.toString()])
    await serveProviderExchange(answerer, listed, logger)
    for (let i = 0; i < 5; i++) await askProviders(asker, answerer.peerId)
    expect(built).toBe(1)
  })

  it('refuses an answer that names more providers than the limit, or is not the schema', async () => {
    const entry = { peerId: (await randomPeer()).toString(), addrs: [] }
    await answerWith(json({ providers: Array.from({ length: MAX_EXCHANGE_PROVIDERS + 1 }, () => entry) }))
    await expect(askProviders(asker, answerer.peerId)).rejects.toThrow()
    await answerWith(
      json({ providers: [{ peerId: entry.peerId, addrs: ['/ip4/127.0.0.1/tcp/1', 'x', 'y', 'z', 'w'] }] })
    )
    await expect(askProviders(asker, answerer.peerId)).rejects.toThrow()
    await answerWith(new TextEncoder().encode('not json'))
    await expect(askProviders(asker, answerer.peerId)).rejects.toThrow()
    await answerWith(new Uint8Array(65 * 1024)) // over the size limit
    await expect(askProviders(asker, answerer.peerId)).rejects.toThrow()
  })

  it('skips entries that are not peer ids, and addresses that are not multiaddrs', async () => {
    const good = (await randomPeer()).toString()
    await answerWith(
      json({
        providers: [
          { peerId: 'not-a-peer', addrs: [] },
          { peerId: good, addrs: ['/ip4/127.0.0.1/tcp/4001', '/nonsense/addr'] }
        ]
      })
    )
    const named = await askProviders(asker, answerer.peerId)
    expect(named.map((p) => p.id.toString())).toEqual([good])
    expect(named[0].multiaddrs.map(String)).toEqual(['/ip4/127.0.0.1/tcp/4001'])
  })

  it('gives up on an answerer that stays silent', async () => {
    await answerer.unhandle(PROVIDERS_PROTOCOL)
    await answerer.handle(PROVIDERS_PROTOCOL, async () => {}) // never writes
    await expect(askProviders(asker, answerer.peerId, { signal: AbortSignal.timeout(300) })).rejects.toThrow()
  })
})

describe('asking for providers', () => {
  const settle = () => new Promise((resolve) => setTimeout(resolve, 300))
  /** An exchange whose named providers land in `watched`, for a node that lists `listed`. */
  const exchangeInto = (watched: string[], listed: string[] = []) =>
    new ProviderExchange({
      libp2p: asker,
      directory: { list: () => listed.map((peerId) => ({ peerId }) as never) },
      intake: {
        libp2p: asker,
        directory: { get: () => undefined },
        isWatched: () => false,
        watch: (id) => !!watched.push(id)
      },
      logger,
      signal: new AbortController().signal
    })

  it('asks one peer at a time, and stops at the first answer that names a provider', async () => {
    await answerer.unhandle(PROVIDERS_PROTOCOL)
    const named = (await randomPeer()).toString()
    await serveProviderExchange(answerer, () => [named], logger)
    const watched: string[] = []
    const exchange = exchangeInto(watched)
    exchange.offer(answerer.peerId)
    exchange.offer(answerer.peerId) // while the first ask is in flight: not asked again
    await settle()
    for (let i = 0; i < 3; i++) {
      exchange.offer(answerer.peerId)
      await settle()
    }
    expect(watched).toEqual([named])
  })

  it('asks again after an answer that names nobody, MAX_ASKS times at most', async () => {
    let asks = 0
    await answerer.unhandle(PROVIDERS_PROTOCOL)
    await answerer.handle(PROVIDERS_PROTOCOL, async (stream: Stream) => {
      asks++
      await lpStream(stream).write(json({ providers: [] }))
      await stream.close()
    })
    const exchange = exchangeInto([])
    for (let i = 0; i < MAX_ASKS + 2; i++) {
      exchange.offer(answerer.peerId)
      await settle()
    }
    expect(asks).toBe(MAX_ASKS)
  })

  it('does not ask once this node lists a provider', async () => {
    await answerer.unhandle(PROVIDERS_PROTOCOL)
    await serveProviderExchange(answerer, () => [provider.peerId.toString()], logger)
    const watched: string[] = []
    exchangeInto(watched, ['listed']).offer(answerer.peerId)
    await settle()
    expect(watched).toEqual([])
  })

  it('never takes this node itself from an answer', async () => {
    const merged: string[] = []
    const watched: string[] = []
    const self = asker.peerId
    const intake = {
      libp2p: { ...asker, peerId: self, peerStore: { merge: async (id: PeerId) => void merged.push(id.toString()) } },
      directory: { get: () => undefined },
      isWatched: () => false,
      watch: (id: string) => !!watched.push(id)
    }
    const named: PeerInfo = { id: self, multiaddrs: asker.getMultiaddrs() }
    expect(await takeProvider(intake as never, named)).toBe(false)
    expect(merged).toEqual([])
    expect(watched).toEqual([])
  })
})
