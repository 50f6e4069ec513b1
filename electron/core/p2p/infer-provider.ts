import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import type { AcceptFrame, FinalFrame, RequestFrame } from '../../../shared/infer'
import type { JobAccounting } from '../../../shared/receipt'
import {
  INFER_PROTOCOL,
  MAX_REQUEST_FRAME_BYTES,
  QUEUE_NOTICE_MS,
  type QueuedFrame,
  RequestFrameSchema
} from '../../../shared/infer'
import { InferError, toInferError } from '../../../shared/infer-error'
import type { NodeEvents } from '../events'
import type { InferenceRuntime } from '../runtime/types'
import type { Logger } from '../util/logger'
import type { AbortOptions, Startable } from '../util/startable'
import { FrameReader } from './infer-reader'
import { FrameBatch, sendErrorFrame } from './infer-send'
import { JobSlots, type QueueNotice } from './job-slots'
import { JobTally } from './job-tally'
import { ByteBudget, defaultProviderLimits, PeerCounter, type ProviderLimits } from './provider-limits'

export { INFER_PROTOCOL }

const QUEUED: QueuedFrame = { type: 'queued' }
/**
 * A stream faster than one token per WRITE_GAP_MS leaves as one write per gap with every delta since
 * (one muxer frame, one encryption, one SSE write at the router) instead of one per token: streaming
 * meshwork-tiny (about 1,400 tok/s here), the mesh's rate went from 1,217-1,242 to 1,287-1,315 tok/s.
 * The first token and the final frame never wait, nor does a token that comes after a pause.
 */
const WRITE_GAP_MS = 4

export interface InferServiceInit {
  /** The runtime serving jobs right now (undefined when this node does not serve). */
  runtime: () => InferenceRuntime | undefined
  isPaused: () => boolean
  maxConcurrentJobs: number
  maxQueuedJobs: number
  /** Receipts: one signed into each finished job's final frame; jobs cut short are remembered. */
  accounting?: JobAccounting
  /** How long a consumer has to send its request frame (routers keep a warm stream open up to 20 s). */
  requestTimeoutMs?: number
  /** How often a job waiting for a slot tells its consumer so (default QUEUE_NOTICE_MS). */
  queueNoticeMs?: number
  /** What one consumer may hold here; defaults follow the job slots. */
  limits?: Partial<ProviderLimits>
}

export interface InferServiceComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle'>
  events: NodeEvents
  logger: Logger
}

/** Provider side of `/meshwork/infer/1.0.0`: one request frame in, accept + deltas + final out. */
export class InferService implements Startable {
  private readonly slots: JobSlots
  private readonly log: Logger
  private readonly active = new Set<AbortController>()
  private readonly limits: ProviderLimits
  private readonly streamsByPeer = new PeerCounter()
  private readonly jobsByPeer = new PeerCounter()
  private readonly requestBytes: ByteBudget

  constructor(
    private readonly components: InferServiceComponents,
    private readonly init: InferServiceInit
  ) {
    this.slots = new JobSlots(init.maxConcurrentJobs, init.maxQueuedJobs)
    this.limits = { ...defaultProviderLimits(init.maxConcurrentJobs, init.maxQueuedJobs), ...init.limits }
    this.requestBytes = new ByteBudget(this.limits.maxBufferedRequestBytes)
    this.log = components.logger.child('infer')
  }

  async start(): Promise<void> {
    await this.components.libp2p.handle(
      INFER_PROTOCOL,
      (stream, connection) => {
        this.handle(stream, connection).catch((err) => this.log.error('infer stream failed', { err }))
      },
      // relayed connections too: the consumer checks the relay's limits before it sends a job
      { maxInboundStreams: 128, maxOutboundStreams: 128, runOnLimitedConnection: true }
    )
  }

  async stop(): Promise<void> {
    await this.components.libp2p.unhandle(INFER_PROTOCOL)
    for (const controller of this.active) controller.abort(new Error('provider stopping'))
  }

  /** For the advert: jobs running, waiting, and how many may run at once. */
  load(): { inflight: number; queued: number; capacity: number } {
    return this.slots.load()
  }

  /** Resolves once no job runs or waits (drain before stopping). */
  idle(options: AbortOptions = {}): Promise<void> {
    return this.slots.idle(options)
  }

  private async handle(stream: Stream, connection: Connection): Promise<void> {
    const consumer = connection.remotePeer.toString()
    const releaseStream = this.streamsByPeer.take(consumer, this.limits.maxStreamsPerPeer)
    if (releaseStream === undefined) {
      stream.abort(new Error('too many infer streams from one peer'))
      return
    }
    const controller = new AbortController()
    const onClose = (): void => controller.abort(new Error('consumer closed the stream'))
    stream.addEventListener('close', onClose)
    this.active.add(controller)
    const reader = new FrameReader(stream, RequestFrameSchema, MAX_REQUEST_FRAME_BYTES, this.requestBytes)
    try {
      const timeout = AbortSignal.timeout(this.init.requestTimeoutMs ?? 30_000)
      const request = await reader
        .next({ signal: AbortSignal.any([timeout, controller.signal]) })
        .catch((err: unknown) => {
          // an idle warm stream that was never used, or closed by its consumer: nothing to report
          if (timeout.aborted || controller.signal.aborted) return undefined
          throw err
        })
      // the request is the only frame a consumer sends: stop reading (and buffering) at once
      reader.dispose()
      if (request === undefined) return
      await this.serve(stream, request, consumer, controller.signal)
    } catch (err) {
      const e = toInferError(err, 'runtime_error')
      if (!controller.signal.aborted) this.log.warn('infer job failed', { consumer, code: e.code, message: e.message })
      await sendErrorFrame(
        stream,
        e.kind === 'protocol' ? 'bad_frame' : e.code,
        e.message,
        e.kind === 'protocol' ? 400 : e.status
      )
    } finally {
      releaseStream()
      reader.dispose()
      stream.removeEventListener('close', onClose)
      this.active.delete(controller)
      if (stream.status === 'open') await stream.close().catch(() => stream.abort(new Error('close failed')))
    }
  }

  private async serve(stream: Stream, request: RequestFrame, consumer: string, signal: AbortSignal): Promise<void> {
    const runtime = this.init.runtime()
    if (this.init.isPaused()) throw new InferError('provider_paused', 'this provider is paused', 503)
    if (runtime === undefined || runtime.endpoint() === undefined)
      throw new InferError('runtime_unavailable', 'no runtime is ready', 503)
    const model = runtime.models().find((m) => m.name === request.call.body.model)
    if (model === undefined)
      throw new InferError('model_not_served', `this provider does not serve '${request.call.body.model}'`, 503)
    if (request.sha256 !== undefined && request.sha256 !== model.sha256) {
      throw new InferError('model_mismatch', 'this provider serves a different GGUF for that model', 503)
    }
    if (request.call.body.replay_tokens !== undefined && !runtime.supportsTokenContinuation) {
      throw new InferError('continuation_unsupported', 'this runtime cannot continue from token ids', 503)
    }
    const begun = performance.now()
    const releaseQuota = this.jobsByPeer.take(consumer, this.limits.maxJobsPerPeer)
    if (releaseQuota === undefined)
      throw new InferError('provider_busy', 'this consumer holds its share of the job slots', 429)
    const batch = new FrameBatch(stream, { signal, drainTimeoutMs: this.limits.drainTimeoutMs, minGapMs: WRITE_GAP_MS })
    // a consumer that understands it hears that its job waits in line, so it does not give up on us
    const notice: QueueNotice | undefined = request.queueNotices
      ? { everyMs: this.init.queueNoticeMs ?? QUEUE_NOTICE_MS, run: () => void batch.write(QUEUED).catch(() => {}) }
      : undefined
    const release = await this.slots.acquire({ signal, notice }).catch((err: unknown) => {
      releaseQuota()
      throw err
    })
    const tally = new JobTally(request, consumer, model)
    const finish = async (event: FinalFrame): Promise<void> => {
      tally.final(event)
      const final: FinalFrame = {
        ...event,
        sha256: model.sha256,
        providerMs: Math.round((performance.now() - begun) * 100) / 100
      }
      if (request.receiptAfterFinal !== true) {
        const receipt = this.init.accounting?.settle({ ...tally.served, endedAt: Date.now() })
        if (receipt !== undefined) final.receipt = receipt
        tally.served.settled = true
        await batch.write(final)
        return
      }
      // the answer leaves first; the receipt is signed and recorded while the consumer passes it on
      // the final leaves at the end of this turn (FrameBatch), before the immediate below
      await batch.write(final)
      await new Promise((resolve) => setImmediate(resolve))
      const receipt = this.init.accounting?.settle({ ...tally.served, endedAt: Date.now() })
      // recorded: no receipt of the consumer's is needed (a failed record leaves the job to one)
      tally.served.settled = true
      if (receipt !== undefined) await batch.write({ type: 'receipt', receipt })
    }
    const accept: AcceptFrame = {
      type: 'accept',
      sha256: model.sha256,
      supportsTokenContinuation: runtime.supportsTokenContinuation
    }
    let accepted = false
    try {
      for await (const event of runtime.stream(request.call, { signal })) {
        // the accept leaves with the first frame of the answer: one write for both
        if (!accepted) {
          accepted = true
          await batch.write(accept)
        }
        if (event.type === 'final') await finish(event)
        else if (tally.wouldExceed(event)) {
          // a runtime that ignores max_tokens (an external server) is stopped where the request ends
          await finish({ type: 'final', finishReason: 'length' })
          break
        } else {
          tally.delta(event)
          await batch.write(event)
        }
      }
      batch.end()
      tally.event.ok = true
    } catch (err) {
      // a consumer that stopped reading: drop the stream at once rather than wait on a flush
      if ((err as Error).name === 'TimeoutError') stream.abort(err as Error)
      throw err
    } finally {
      // frames still queued go before an error frame or the stream's close
      batch.flush()
      release()
      releaseQuota()
      const { served } = tally
      if (!served.settled && served.completionTokens + served.promptTokens > 0)
        this.init.accounting?.cutShort({ ...served, endedAt: Date.now() })
      this.components.events.emit('job:served', tally.event)
    }
  }
}

export function inferService(init: InferServiceInit): (components: InferServiceComponents) => InferService {
  return (components) => new InferService(components, init)
}
