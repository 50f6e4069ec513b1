import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { AcceptFrame, DeltaFrame, QueuedFrame, ReceivedFinal, RequestFrame } from '../../../shared/infer'
import { InferError, toInferError } from '../../../shared/infer-error'
import { openInfer } from '../p2p/infer-consumer'
import { InferDialer } from '../p2p/infer-dialer'
import { connectionKind, relayBudget, type RelayBudget } from '../p2p/reachability-connection'
import type { ConnectionKind } from '../../../shared/api'
import type { AbortOptions } from '../util/startable'
import type { Candidate, LocalRuntimeSource } from './candidates'

export type AttemptEvent = QueuedFrame | AcceptFrame | DeltaFrame | ReceivedFinal

/** How the router reaches a provider: injected, so the failover loop can be tested with scripts. */
export interface ProviderTransport {
  open(
    candidate: Candidate,
    frame: RequestFrame,
    options: AbortOptions & { connectTimeoutMs?: number }
  ): AsyncIterable<AttemptEvent>
  /** Whether the provider still has a connection (a broken stream on a live connection is not death). */
  connected?(peerId: string): boolean
  /** Direct, relayed or no connection to the provider now. */
  connectionKind?(peerId: string): ConnectionKind
  /** What the relay still allows when the provider is reached only through one. */
  relayBudget?(peerId: string): RelayBudget | undefined
  close?(): void
}

/** Remote providers over `/meshwork/infer/1.0.0` (with warm streams), this node's runtime directly. */
export class MeshTransport implements ProviderTransport {
  private readonly dialer: InferDialer | undefined

  constructor(
    private readonly libp2p: Pick<Libp2p, 'dialProtocol' | 'getConnections'> | undefined,
    private readonly local: LocalRuntimeSource | undefined
  ) {
    this.dialer = libp2p ? new InferDialer(libp2p) : undefined
  }

  open(
    candidate: Candidate,
    frame: RequestFrame,
    options: AbortOptions & { connectTimeoutMs?: number }
  ): AsyncIterable<AttemptEvent> {
    if (candidate.local) return this.openLocal(frame, options)
    if (this.dialer === undefined) throw new InferError('provider_unreachable', 'this node has no p2p stack', 503)
    return trustNoClientErrors(openInfer(this.dialer, peerIdFromString(candidate.peerId), frame, options))
  }

  connected(peerId: string): boolean {
    return (this.libp2p?.getConnections(peerIdFromString(peerId)).length ?? 0) > 0
  }

  connectionKind(peerId: string): ConnectionKind {
    return this.libp2p ? connectionKind(this.libp2p, peerId) : 'none'
  }

  relayBudget(peerId: string): RelayBudget | undefined {
    return this.libp2p ? relayBudget(this.libp2p, peerId) : undefined
  }

  close(): void {
    this.dialer?.close()
  }

  /** Our own runtime is trusted: its 4xx is the client's error and goes back to the client. */
  private async *openLocal(frame: RequestFrame, options: AbortOptions): AsyncGenerator<AttemptEvent> {
    const runtime = this.local?.runtime()
    if (runtime === undefined) throw new InferError('runtime_unavailable', 'the local runtime is not ready', 503)
    if (frame.call.body.replay_tokens !== undefined && !runtime.supportsTokenContinuation) {
      throw new InferError('continuation_unsupported', 'the local runtime cannot continue from token ids', 503)
    }
    try {
      yield* runtime.stream(frame.call, options)
    } catch (err) {
      const e = toInferError(err)
      if (e.code === 'runtime_rejected' && e.status >= 400 && e.status < 500)
        throw new InferError('invalid_request', e.message, 400, { cause: e })
      throw e
    }
  }
}

/**
 * A remote provider cannot make its refusal the client's fault: a claimed client error from the
 * wire is a provider failure like any other, so the router fails over and counts it.
 */
async function* trustNoClientErrors(frames: AsyncIterable<AttemptEvent>): AsyncGenerator<AttemptEvent> {
  try {
    yield* frames
  } catch (err) {
    const e = toInferError(err)
    if (e.kind === 'client') throw new InferError('runtime_rejected', e.message, e.status, { cause: e })
    throw e
  }
}
