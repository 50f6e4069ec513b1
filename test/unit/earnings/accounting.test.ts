import type { Libp2p } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createLogger } from '../../../electron/core/util/logger'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EarningsService } from '../../../electron/core/earnings/earnings-service'
import { offerReceipt, offerReceipts } from '../../../electron/core/earnings/receipt-protocol'
import { countersign, issueReceipt } from '../../../electron/core/earnings/receipts'
import { MAX_OFFERS_PER_MESSAGE, RECEIPT_PROTOCOL } from '../../../shared/receipt'
import { signerFromKey } from '../../../electron/core/earnings/keys'
import type { Advert } from '../../../shared/advert'
import { loopbackLibp2p } from '../../integration/routing/fixtures/loopback-libp2p'
import { tempDir } from './fixtures'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'

const SHA = 'c'.repeat(64)
const PRICE = { perMillionTokens: 0, currency: 'credits', models: { 'meshwork-tiny': { prompt: 1, completion: 4 } } }
const logger = createLogger('test', { level: 'error' })

let providerNode: Libp2p
let consumerNode: Libp2p
let provider: EarningsService
let consumer: EarningsService
const dirs = [tempDir(), tempDir()]

async function nodeWithKey(): Promise<{ libp2p: Libp2p; key: Awaited<ReturnType<typeof generateKeyPair>> }> {
  const key = await generateKeyPair('Ed25519')
  const libp2p = await createLibp2p({
    privateKey: key,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
  return { libp2p, key }
}

beforeAll(async () => {
  const [p, c] = await Promise.all([nodeWithKey(), nodeWithKey()])
  providerNode = p.libp2p
  consumerNode = c.libp2p
  const providerAdvert = {
    peerId: providerNode.peerId.toString(),
    models: [{ name: 'meshwork-tiny', sha256: SHA, params: 1 }],
    price: PRICE
  } as unknown as Advert
  provider = new EarningsService(
    { libp2p: providerNode },
    {
      dataDir: dirs[0].dir,
      privateKey: p.key,
      price: () => PRICE,
      isPaused: () => false,
      advertOf: () => undefined,
      logger
    }
  )
  consumer = new EarningsService(
    { libp2p: consumerNode },
    {
      dataDir: dirs[1].dir,
      privateKey: c.key,
      price: () => PRICE,
      isPaused: () => false,
      advertOf: (id) => (id === providerAdvert.peerId ? providerAdvert : undefined),
      logger
    }
  )
  await Promise.all([provider.start(), consumer.start()])
  await consumerNode.dial(providerNode.getMultiaddrs()[0])
})

afterAll(async () => {
  await Promise.all([provider.stop(), consumer.stop()])
  await Promise.all([providerNode.stop(), consumerNode.stop()])
  for (const d of dirs) d.cleanup()
})

const job = (jobId: string, completionTokens: number) => ({
  jobId,
  consumer: consumerNode.peerId.toString(),
  model: 'meshwork-tiny',
  sha256: SHA,
  promptTokens: 9,
  completionTokens,
  startedAt: Date.now() - 100,
  endedAt: Date.now()
})
const attempt = (requestId: string, tokens: number, extra: object = {}) => ({
  requestId,
  provider: providerNode.peerId.toString(),
  local: false,
  model: 'meshwork-tiny',
  sha256: SHA,
  kind: 'ok',
  tokens,
  promptTokens: 9,
  ms: 100,
  ...extra
})

describe('earnings between a provider and a consumer over real libp2p', () => {
  it('a finished job: provider signs, consumer countersigns, both keep both signatures and the same numbers', async () => {
    const receipt = provider.settle(job('job-1', 40))
    consumer.attemptSettled(
      attempt('job-1', 40, { final: { usage: { prompt_tokens: 9, completion_tokens: 40 }, receipt } })
    )
    await consumer.settled()
    const [earned, spent] = [provider.summary(), consumer.summary()]
    expect(earned.earned).toEqual({ jobs: 1, promptTokens: 9, completionTokens: 40, amount: (9 * 1 + 40 * 4) / 1e6 })
    expect(spent.spent).toEqual(earned.earned)
    expect(earned.recent[0]).toMatchObject({ providerSigValid: true, consumerSigValid: true })
    expect(spent.recent[0]).toMatchObject({ providerSigValid: true, consumerSigValid: true })
    expect(provider.verify().ok && consumer.verify().ok).toBe(true)
  })

  it('a job cut short: the consumer pays for what arrived, the provider countersigns and earns the same', async () => {
    provider.cutShort(job('job-2', 30)) // 30 sent, 25 arrived before the failover
    consumer.attemptSettled(attempt('job-2', 25, { kind: 'failed' }))
    await consumer.settled()
    const [earned, spent] = [provider.summary(), consumer.summary()]
    expect(earned.earned.completionTokens).toBe(65)
    expect(spent.spent).toEqual(earned.earned)
    expect(spent.recent[0]).toMatchObject({
      providerSigValid: true,
      consumerSigValid: true,
      signed: { receipt: { issuer: 'consumer', complete: false } }
    })
  })

  it('an offer that arrives before the provider noted the job cut short is tried again', async () => {
    const before = provider.summary().earned.completionTokens
    consumer.attemptSettled(attempt('job-late', 8, { kind: 'failed' }))
    setTimeout(() => provider.cutShort(job('job-late', 9)), 300)
    await consumer.settled()
    expect(provider.summary().earned.completionTokens).toBe(before + 8)
    expect(consumer.summary().recent[0]).toMatchObject({ providerSigValid: true, consumerSigValid: true })
  })

  it('a provider receipt that claims more than arrived is not countersigned; the consumer records what arrived', async () => {
    const receipt = provider.settle(job('job-3', 50))
    consumer.attemptSettled(attempt('job-3', 45, { final: { receipt } }))
    await consumer.settled()
    const last = consumer.summary().recent[0]
    expect(last.signed.receipt).toMatchObject({ issuer: 'consumer', completionTokens: 45 })
    expect(consumer.verify().ok).toBe(true)
  })

  it('the provider refuses a consumer receipt for more than it sent, for an unknown job, or from another peer', async () => {
    const me = signerFromKey(await generateKeyPair('Ed25519'))
    provider.cutShort(job('job-4', 10))
    const consumerSigner = (consumer as unknown as { consumer: { init: { signer: ReturnType<typeof signerFromKey> } } })
      .consumer.init.signer
    const draft = {
      ...job('job-4', 11),
      provider: providerNode.peerId.toString(),
      complete: false,
      durationMs: 1,
      price: { prompt: 1, completion: 4 },
      unit: 'credits'
    }
    const tooMany = issueReceipt(consumerSigner, 'consumer', draft)
    expect(await offerReceipt(consumerNode, providerNode.peerId, tooMany)).toMatchObject({
      type: 'refused',
      message: /11 completion tokens, 10 were sent/
    })
    const unknown = issueReceipt(consumerSigner, 'consumer', { ...draft, jobId: 'job-x', completionTokens: 1 })
    expect(await offerReceipt(consumerNode, providerNode.peerId, unknown)).toMatchObject({
      type: 'refused',
      message: /no job job-x/
    })
    // a third peer replays the consumer's genuine offer: the stream's peer is not the receipt's consumer
    const thirdNode = await loopbackLibp2p()
    try {
      await thirdNode.dial(providerNode.getMultiaddrs()[0])
      const genuine = issueReceipt(consumerSigner, 'consumer', { ...draft, completionTokens: 10 })
      expect(await offerReceipt(thirdNode, providerNode.peerId, genuine)).toMatchObject({
        type: 'refused',
        message: /not its consumer/
      })
      const forged = issueReceipt(me, 'consumer', { ...draft, consumer: me.peerId, completionTokens: 10 })
      expect(await offerReceipt(thirdNode, providerNode.peerId, forged)).toMatchObject({
        type: 'refused',
        message: /not its consumer/
      })
    } finally {
      await thirdNode.stop()
    }
    expect(provider.summary().earned.jobs).toBe(4)
  })

  it('countersignatures of finished jobs reach the provider in one stream per batch, not one per job', async () => {
    const dials: string[] = []
    const dial = consumerNode.dialProtocol.bind(consumerNode)
    consumerNode.dialProtocol = (async (...args: Parameters<Libp2p['dialProtocol']>) => {
      dials.push(String(args[1]))
      return dial(...args)
    }) as Libp2p['dialProtocol']
    try {
      for (let i = 0; i < 5; i++) {
        const receipt = provider.settle(job(`batch-${i}`, 10))
        consumer.attemptSettled(attempt(`batch-${i}`, 10, { final: { receipt } }))
      }
      await consumer.settled()
    } finally {
      consumerNode.dialProtocol = dial
    }
    expect(dials.filter((p) => p === RECEIPT_PROTOCOL)).toHaveLength(1)
    const batch = provider.summary({ recent: 20 }).recent.filter((r) => r.signed.receipt.jobId.startsWith('batch-'))
    expect(batch.map((r) => r.consumerSigValid)).toEqual([true, true, true, true, true])
  })

  it('answers a batch of offers one by one, in order, and refuses a batch over the limit', async () => {
    const consumerSigner = (consumer as unknown as { consumer: { init: { signer: ReturnType<typeof signerFromKey> } } })
      .consumer.init.signer
    const genuine = countersign(consumerSigner, provider.settle(job('batch-ok', 3))!)
    const unknown = { ...genuine, receipt: { ...genuine.receipt, id: 'f'.repeat(32) } }
    const answers = await offerReceipts(consumerNode, providerNode.peerId, [unknown, genuine])
    expect(answers).toMatchObject([{ type: 'refused' }, { type: 'countersigned', providerSig: genuine.providerSig }])
    const tooMany = Array.from({ length: MAX_OFFERS_PER_MESSAGE + 1 }, () => genuine)
    const stream = await consumerNode.dialProtocol(providerNode.peerId, RECEIPT_PROTOCOL)
    const lp = (await import('@libp2p/utils')).lpStream(stream, { maxDataLength: 1 << 20 })
    await lp.write(new TextEncoder().encode(JSON.stringify({ type: 'offers', signed: tooMany })))
    const answer = JSON.parse(new TextDecoder().decode((await lp.read()).subarray()))
    expect(answer).toMatchObject({ type: 'refused', code: 'receipt_rejected' })
  })

  it('refuses an offer that is not a receipt', async () => {
    const stream = await consumerNode.dialProtocol(providerNode.peerId, '/meshwork/receipt/1.0.0')
    const { lpStream } = await import('@libp2p/utils')
    const lp = lpStream(stream)
    await lp.write(new TextEncoder().encode('{"type":"offer","signed":{"receipt":{}}}'))
    const answer = JSON.parse(new TextDecoder().decode((await lp.read()).subarray()))
    expect(answer).toMatchObject({ type: 'refused', code: 'receipt_rejected' })
  })

  it('attempts served by this node itself are "served for you": neither earned nor spent', async () => {
    const before = consumer.summary()
    consumer.attemptSettled({ ...attempt('job-5', 12), provider: consumerNode.peerId.toString(), local: true })
    const after = consumer.summary()
    expect(after.servedForYou).toMatchObject({ jobs: 1, completionTokens: 12, amount: 0 })
    expect(after.spent).toEqual(before.spent)
    expect(after.earned).toEqual(before.earned)
    expect(consumer.verify().ok).toBe(true)
  })

  it('a receipt that follows its final frame is countersigned once it comes, and settled() waits for it', async () => {
    const receipt = provider.settle(job('job-after', 7))
    const receiptLater = new Promise((resolve) => setTimeout(() => resolve(receipt), 300))
    consumer.attemptSettled(
      attempt('job-after', 7, { final: { usage: { prompt_tokens: 9, completion_tokens: 7 }, receiptLater } })
    )
    await consumer.settled()
    expect(consumer.summary().recent[0]).toMatchObject({
      providerSigValid: true,
      consumerSigValid: true,
      signed: { receipt: { jobId: 'job-after', issuer: 'provider', completionTokens: 7 } }
    })
    // no receipt came: the consumer records (and offers) what arrived, as for a final without one
    consumer.attemptSettled(attempt('job-none', 3, { final: { receiptLater: Promise.resolve(undefined) } }))
    await consumer.settled()
    expect(consumer.summary().recent[0].signed.receipt).toMatchObject({ jobId: 'job-none', issuer: 'consumer' })
  })
})
