import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { AcceptFrame, ErrorFrame, RequestFrame, ResponseFrame } from '../../../shared/infer'
import { INFER_PROTOCOL, MAX_REQUEST_FRAME_BYTES, MAX_RESPONSE_FRAME_BYTES, RequestFrameSchema, ResponseFrameSchema } from '../../../shared/infer'
import type { NodeEvents } from '../events'
import type { StreamEvent } from '../router/worker-client'
import { streamFromWorker } from '../router/worker-client'
import { UpstreamError, toUpstreamError } from '../router/upstream-error'
import type { InferenceRuntime } from '../runtime/types'
import type { Logger } from '../util/logger'
import type { AbortOptions, Startable } from '../util/startable'
import { encodeFrame } from './infer-frames'
import { FrameReader } from './infer-reader'
import { JobSlots } from './job-slots'

export { INFER_PROTOCOL }

export interface InferServiceInit {
  /** The runtime serving jobs right now (undefined when this node does not serve). */
  runtime: () => InferenceRuntime | undefined
  isPaused: () => boolean
  events: NodeEvents
  logger: Logger
  maxConcurrentJobs: number
  maxQueuedJobs: number
  /** How long a consumer has to send its request frame (routers keep a warm stream open up to 20 s). */
  requestTimeoutMs?: number
}

export interface InferServiceComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle'>
}

/** Provider side of `/meshwork/infer/1.0.0`. */
export class InferService implements Startable {
  private readonly slots: JobSlots
  private readonly log: Logger
  private readonly active = new Set<AbortController>()

  constructor(
    private readonly components: InferServiceComponents,
    private readonly init: InferServiceInit
  ) {
    this.slots = new JobSlots(init.maxConcurrentJobs, init.maxQueuedJobs)
    this.log = init.logger.child('infer')
  }

  async start(): Promise<void> {
    await this.components.libp2p.handle(INFER_PROTOCOL, (stream, connection) => {
      this.handle(stream, connection).catch((err) => this.log.error('infer stream failed', { err }))
    }, { maxInboundStreams: 256, maxOutboundStreams: 256 })
  }

  async stop(): Promise<void> {
    await this.components.libp2p.unhandle(INFER_PROTOCOL)
    for (const controller of this.active) controller.abort(new Error('provider stopping'))
  }

  /** For the advert: jobs running, waiting, and how many may run at once. */
  load(): { inflight: number; queued: number; capacity: number } {
    return this.slots.load()
  }

  private async handle(stream: Stream, connection: Connection): Promise<void> {
    const consumer = connection.remotePeer.toString()
    const controller = new AbortController()
    const onClose = (): void => controller.abort(new Error('consumer closed the stream'))
    stream.addEventListener('close', onClose)
    this.active.add(controller)
    const reader = new FrameReader(stream, RequestFrameSchema, MAX_REQUEST_FRAME_BYTES)
    let request: RequestFrame | undefined
    try {
      const timeout = AbortSignal.timeout(this.init.requestTimeoutMs ?? 30_000)
      request = await reader.next({ signal: AbortSignal.any([timeout, controller.signal]) }).catch((err: unknown) => {
        // an idle warm stream that was never used, or closed by its consumer: nothing to report
        if (timeout.aborted || controller.signal.aborted) return undefined
        throw err
      })
      if (request === undefined) return
      await this.serve(stream, request, consumer, controller.signal)
    } catch (err) {
      const e = toUpstreamError(err, 'runtime')
      if (!controller.signal.aborted) this.log.warn('infer job failed', { consumer, code: e.code, message: e.message })
      await sendError(stream, e.kind === 'protocol' ? 'bad_frame' : e.code, e.message, e.kind === 'protocol' || e.kind === 'client' ? 400 : e.status)
    } finally {
      reader.dispose()
      stream.removeEventListener('close', onClose)
      this.active.delete(controller)
      if (stream.status === 'open') await stream.close().catch(() => stream.abort(new Error('close failed')))
    }
  }

  private async serve(stream: Stream, request: RequestFrame, consumer: string, signal: AbortSignal): Promise<void> {
    const runtime = this.init.runtime()
    const endpoint = runtime?.endpoint()
    if (this.init.isPaused()) throw new UpstreamError('refused', 'provider_paused', 'this provider is paused', 503)
    if (runtime === undefined || endpoint === undefined) throw new UpstreamError('refused', 'runtime_unavailable', 'no runtime is ready', 503)
    const model = runtime.models().find((m) => m.name === request.call.body.model)
    if (model === undefined) throw new UpstreamError('refused', 'model_not_served', `this provider does not serve '${request.call.body.model}'`, 503)
    if (request.sha256 !== undefined && request.sha256 !== model.sha256) {
      throw new UpstreamError('refused', 'model_mismatch', 'this provider serves a different GGUF for that model', 503)
    }
    if (request.call.body.replay_tokens !== undefined && !runtime.supportsTokenContinuation) {
      throw new UpstreamError('refused', 'continuation_unsupported', 'this runtime cannot continue from token ids', 503)
    }
    const begun = performance.now()
    const release = await this.slots.acquire({ signal })
    let promptTokens = 0
    let completionTokens = 0
    let ok = false
    try {
      const accept: AcceptFrame = { type: 'accept', sha256: model.sha256, supportsTokenContinuation: runtime.supportsTokenContinuation }
      await send(stream, accept, { signal })
      for await (const event of streamFromWorker(endpoint, request.call, { signal })) {
        if (event.type === 'delta') completionTokens += event.tokenIds?.length ?? 0
        const frame: StreamEvent = event.type === 'final' ? { ...event, sha256: model.sha256, providerMs: Math.round((performance.now() - begun) * 100) / 100 } : event
        if (event.type === 'final' && event.usage) {
          promptTokens = event.usage.prompt_tokens
          completionTokens = event.usage.completion_tokens
        }
        await send(stream, frame, { signal })
      }
      ok = true
    } finally {
      release()
      this.init.events.emit('job:served', { id: request.id, model: request.call.body.model, consumer, promptTokens, completionTokens, ok })
    }
  }
}

export function inferService(init: InferServiceInit): (components: InferServiceComponents) => InferService {
  return (components) => new InferService(components, init)
}

/** Write one frame, waiting for the stream to drain when its buffer is full (backpressure). */
async function send(stream: Stream, frame: ResponseFrame | RequestFrame, options: AbortOptions = {}): Promise<void> {
  if (!stream.send(encodeFrame(frame))) await stream.onDrain(options)
}

async function sendError(stream: Stream, code: string, message: string, status?: number): Promise<void> {
  if (stream.status !== 'open' || stream.writeStatus !== 'writable') return
  const frame: ErrorFrame = { type: 'error', code: code.slice(0, 64), message: message.slice(0, 2048), status }
  await send(stream, frame, { signal: AbortSignal.timeout(2000) }).catch(() => {})
}

export interface OpenInferOptions extends AbortOptions {
  connectTimeoutMs?: number
}

/**
 * Consumer side: sends `request` to `peer` and yields its accept, delta and final frames.
 * An error frame, a reset or a stream that ends before the final frame throws an UpstreamError;
 * aborting `signal` (or leaving the loop early) resets the stream, which aborts the provider's job.
 */
export async function* openInfer(
  libp2p: Pick<Libp2p, 'dialProtocol'>,
  peer: PeerId,
  request: RequestFrame,
  options: OpenInferOptions = {}
): AsyncGenerator<Exclude<ResponseFrame, ErrorFrame>> {
  const connectSignal = AbortSignal.timeout(options.connectTimeoutMs ?? 5000)
  let stream: Stream
  try {
    stream = await libp2p.dialProtocol(peer, INFER_PROTOCOL, {
      signal: options.signal ? AbortSignal.any([options.signal, connectSignal]) : connectSignal,
      // send the protocol name together with the request: saves a round trip per request
      negotiateFully: false
    })
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason
    throw new UpstreamError('connect', 'provider_unreachable', `cannot open an infer stream: ${(err as Error).message}`, 503, { cause: err })
  }
  const reader = new FrameReader(stream, ResponseFrameSchema, MAX_RESPONSE_FRAME_BYTES)
  let finished = false
  try {
    await send(stream, request, options).catch((err) => {
      throw new UpstreamError('closed', 'provider_stream_broken', `sending the request failed: ${(err as Error).message}`, 502, { cause: err })
    })
    for (;;) {
      let frame: ResponseFrame | undefined
      try {
        frame = await reader.next(options)
      } catch (err) {
        if (options.signal?.aborted) throw options.signal.reason
        throw toUpstreamError(err, 'closed')
      }
      if (frame === undefined) throw new UpstreamError('closed', 'provider_stream_ended', 'the provider closed the stream before the final frame')
      if (frame.type === 'error') throw errorFromFrame(frame)
      if (frame.type === 'final') finished = true
      yield frame
      if (finished) return
    }
  } finally {
    reader.dispose()
    if (finished) stream.close().catch(() => stream.abort(new Error('close failed')))
    else stream.abort(new Error('consumer cancelled'))
  }
}

const REFUSALS = new Set(['provider_paused', 'provider_busy', 'runtime_unavailable', 'model_not_served', 'model_mismatch', 'continuation_unsupported'])

function errorFromFrame(frame: ErrorFrame): UpstreamError {
  const status = frame.status ?? 502
  if (REFUSALS.has(frame.code)) return new UpstreamError('refused', frame.code, frame.message, status)
  if (status >= 400 && status < 500 && status !== 429 && status !== 408) return new UpstreamError('client', frame.code, frame.message, status)
  return new UpstreamError('runtime', frame.code, frame.message, status)
}
