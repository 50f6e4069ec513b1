// The receipt frame after the final: the answer leaves before the receipt is signed, and a consumer
// waits for the receipt only within its bound and takes nothing else in its place.
import type { Libp2p, Stream } from '@libp2p/interface'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type DeltaFrame,
  type FinalFrame,
  INFER_PROTOCOL,
  type ReceivedFinal,
  type RequestFrame,
  type ResponseFrame
} from '../../../shared/infer'
import type { JobAccounting, SignedReceipt } from '../../../shared/receipt'
import { issueReceipt } from '../../../electron/core/earnings/receipts'
import { createEvents } from '../../../electron/core/events'
import { openInfer } from '../../../electron/core/p2p/infer-consumer'
import { encodeFrame } from '../../../electron/core/p2p/infer-frames'
import { InferService } from '../../../electron/core/p2p/infer-provider'
import { createLogger } from '../../../electron/core/util/logger'
import { stubRuntime } from '../../helpers/stub-runtime'
import { loopbackLibp2p } from '../../integration/routing/fixtures/loopback-libp2p'
import { draft, newSigner } from '../earnings/fixtures'

const SHA = 'b'.repeat(64)
const nodes: Libp2p[] = []
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()))
})

async function pair(): Promise<{ provider: Libp2p; consumer: Libp2p }> {
  const [provider, consumer] = await Promise.all([loopbackLibp2p(), loopbackLibp2p()])
  nodes.push(provider, consumer)
  await consumer.dial(provider.getMultiaddrs()[0])
  return { provider, consumer }
}

const request = (receiptAfterFinal: boolean): RequestFrame => ({
  type: 'request',
  id: 'cmpl-1',
  ...(receiptAfterFinal ? { receiptAfterFinal } : {}),
  call: { api: 'completions', body: { model: 'm', prompt: 'hi', max_tokens: 1 } }
})

async function finalOf(frames: AsyncIterable<ResponseFrame | ReceivedFinal>): Promise<ReceivedFinal> {
  for await (const frame of frames) if (frame.type === 'final') return frame
  throw new Error('no final frame')
}

/** Every frame type the provider's stream sends, in order, beside the accounting's calls. */
function tracedProvider(node: Libp2p, log: string[], receipt: SignedReceipt | Error): Promise<void> {
  const runtime = stubRuntime([{ name: 'm', sha256: SHA, params: 1 }], async function* () {
    yield { type: 'delta', text: 'x', tokenIds: [5], promptTokenIds: [1] } satisfies DeltaFrame
    yield { type: 'final', finishReason: 'length', usage: { prompt_tokens: 1, completion_tokens: 1 } } as FinalFrame
  })
  const accounting: JobAccounting = {
    settle: () => {
      log.push('settle')
      if (receipt instanceof Error) throw receipt
      return receipt
    },
    cutShort: () => log.push('cutShort')
  }
  const handle = node.handle.bind(node)
  const spied: typeof node.handle = (protocol, handler, options) =>
    handle(
      protocol,
      (stream, connection) => {
        const send = stream.send.bind(stream)
        stream.send = (bytes) => {
          for (const type of ['accept', 'final', 'receipt']) if (includes(bytes, `"type":"${type}"`)) log.push(type)
          return send(bytes)
        }
        return handler(stream, connection)
      },
      options
    )
  const service = new InferService(
    { libp2p: { handle: spied, unhandle: node.unhandle.bind(node) }, events: createEvents(), logger: quiet },
    { runtime: () => runtime, isPaused: () => false, maxConcurrentJobs: 1, maxQueuedJobs: 1, accounting }
  )
  return service.start()
}

const quiet = createLogger('test', { level: 'error' })
const includes = (bytes: Uint8Array | { subarray(): Uint8Array }, text: string): boolean =>
  Buffer.from(bytes instanceof Uint8Array ? bytes : bytes.subarray()).includes(text)

async function signedReceipt(): Promise<SignedReceipt> {
  const [p, c] = await Promise.all([newSigner(), newSigner()])
  return issueReceipt(p, 'provider', draft(p, c))
}

/** A consumer and a traced provider whose accounting settles with `settles` (or throws it). */
async function traced(settles: SignedReceipt | Error): Promise<{ provider: Libp2p; consumer: Libp2p; log: string[] }> {
  const { provider, consumer } = await pair()
  const log: string[] = []
  await tracedProvider(provider, log, settles)
  return { provider, consumer, log }
}

/**
 * A hostile provider that answers every job with `frames` and keeps its side open; `closed` gets
 * the stream once the consumer has closed its side.
 */
async function scriptedProvider(node: Libp2p, frames: ResponseFrame[], closed: Stream[]): Promise<void> {
  await node.handle(INFER_PROTOCOL, async (stream) => {
    let answered = false
    for await (const chunk of stream) {
      void chunk
      if (!answered) for (const frame of frames) stream.send(encodeFrame(frame))
      answered = true
    }
    closed.push(stream)
  })
}

describe('the receipt frame after the final', () => {
  it('the final frame leaves before the receipt is signed, and the receipt follows in a frame of its own', async () => {
    const receipt = await signedReceipt()
    const { provider, consumer, log } = await traced(receipt)
    const final = await finalOf(openInfer(consumer, provider.peerId, request(true)))
    expect(final.receipt).toBeUndefined()
    expect(await final.receiptLater).toEqual(receipt)
    expect(log).toEqual(['accept', 'final', 'settle', 'receipt'])
  })

  it("a receipt the provider failed to record is not sent, and the job waits for the consumer's receipt", async () => {
    const { provider, consumer, log } = await traced(new Error('disk full'))
    const final = await finalOf(openInfer(consumer, provider.peerId, request(true)))
    expect(await final.receiptLater).toBeUndefined()
    // noted as cut short: the consumer's own receipt for what arrived will be countersigned
    await expect.poll(() => log).toEqual(['accept', 'final', 'settle', 'cutShort'])
  })

  it('a consumer that did not ask gets the receipt inside the final frame, as before', async () => {
    const receipt = await signedReceipt()
    const { provider, consumer, log } = await traced(receipt)
    const final = await finalOf(openInfer(consumer, provider.peerId, request(false)))
    expect(final.receipt).toEqual(receipt)
    expect(final.receiptLater).toBeUndefined()
    expect(log).toEqual(['settle', 'accept', 'final'])
  })

  it('a receipt frame before the final is a protocol failure', async () => {
    const { provider, consumer } = await pair()
    const receipt = await signedReceipt()
    await scriptedProvider(
      provider,
      [
        { type: 'accept', sha256: SHA, supportsTokenContinuation: true },
        { type: 'receipt', receipt },
        { type: 'final', finishReason: 'stop' }
      ],
      []
    )
    await expect(finalOf(openInfer(consumer, provider.peerId, request(true)))).rejects.toMatchObject({
      code: 'bad_frame'
    })
  })

  it('a provider that never sends its receipt holds the stream only until the bound, then it is closed', async () => {
    const { provider, consumer } = await pair()
    const closed: Stream[] = []
    await scriptedProvider(
      provider,
      [
        { type: 'accept', sha256: SHA, supportsTokenContinuation: true },
        { type: 'final', finishReason: 'stop' }
      ],
      closed
    )
    const final = await finalOf(openInfer(consumer, provider.peerId, request(true), { receiptWaitMs: 300 }))
    const started = Date.now()
    expect(await final.receiptLater).toBeUndefined()
    expect(Date.now() - started).toBeLessThan(2_000)
    await expect.poll(() => closed.length, { timeout: 2_000 }).toBe(1)
  })

  it('anything but a valid receipt after the final is not taken as one', async () => {
    const { provider, consumer } = await pair()
    const receipt = await signedReceipt()
    // a receipt with a signature that fails its schema, not signed by anybody's rules
    const forged = { ...receipt, providerSig: 42 } as unknown as SignedReceipt
    // the second final carries a valid receipt: only a receipt frame may bring one
    for (const after of [
      { type: 'delta', text: 'more' },
      { type: 'final', finishReason: 'stop', receipt },
      { type: 'receipt', receipt: forged }
    ] as ResponseFrame[]) {
      await provider.unhandle(INFER_PROTOCOL)
      await scriptedProvider(provider, [{ type: 'final', finishReason: 'stop' }, after], [])
      const final = await finalOf(openInfer(consumer, provider.peerId, request(true)))
      expect(await final.receiptLater).toBeUndefined()
    }
  })
})
