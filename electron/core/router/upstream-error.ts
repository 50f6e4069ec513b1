import { MeshworkError } from '../util/errors'

/**
 * Why one attempt on one provider failed. `kind` drives failover: a `client` error (bad request)
 * goes back to the caller as is; everything else moves the request to the next provider.
 */
export type UpstreamFailureKind =
  | 'connect' // could not reach the provider / runtime at all
  | 'closed' // the connection or stream broke
  | 'timeout' // connect, first-token or inter-token timeout
  | 'refused' // paused, busy, wrong model: the provider is fine, just not for this job
  | 'runtime' // the provider's runtime failed
  | 'protocol' // garbage on the wire
  | 'client' // the request itself is bad

export class UpstreamError extends MeshworkError {
  readonly kind: UpstreamFailureKind
  constructor(kind: UpstreamFailureKind, code: string, message: string, status = 502, options?: ErrorOptions) {
    super(message, code, status, options)
    this.name = 'UpstreamError'
    this.kind = kind
  }
}

/** Turn any thrown value into an UpstreamError (AbortError from a timeout becomes `timeout`). */
export function toUpstreamError(err: unknown, fallback: UpstreamFailureKind = 'closed'): UpstreamError {
  if (err instanceof UpstreamError) return err
  const e = err as { name?: string; code?: string; message?: string; status?: number }
  if (e?.name === 'TimeoutError') return new UpstreamError('timeout', 'timeout', e.message ?? 'timed out', 504, { cause: err })
  if (e?.code === 'frame_too_large' || e?.code === 'bad_frame') return new UpstreamError('protocol', e.code, e.message ?? 'bad frame', 502, { cause: err })
  const status = typeof e?.status === 'number' ? e.status : 502
  return new UpstreamError(fallback, e?.code ?? 'upstream_failed', e?.message ?? String(err), status, { cause: err })
}
