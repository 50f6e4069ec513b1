import { z } from 'zod'
import { MeshworkError } from './errors'

/**
 * Why one attempt on one provider failed. The kind drives failover: `refused` (paused, busy, wrong
 * model) skips the provider for a moment without blame; every other kind is the provider's failure,
 * counted against it. `client` is only ever raised by the consumer itself, for a request it checked.
 */
export type InferFailureKind =
  'connect' | 'closed' | 'timeout' | 'refused' | 'runtime' | 'protocol' | 'limit' | 'client'

/** Every code that may cross `/meshwork/infer/1.0.0` or come out of a runtime call, with its kind. */
export const INFER_ERROR_KINDS = {
  provider_paused: 'refused',
  provider_busy: 'refused',
  runtime_unavailable: 'refused',
  model_not_served: 'refused',
  model_mismatch: 'refused',
  continuation_unsupported: 'refused',
  continuation_mismatch: 'refused',
  provider_unreachable: 'connect',
  runtime_unreachable: 'connect',
  provider_stream_broken: 'closed',
  provider_stream_ended: 'closed',
  runtime_stream_broken: 'closed',
  stream_truncated: 'closed',
  timeout: 'timeout',
  first_token_timeout: 'timeout',
  stall_timeout: 'timeout',
  bad_frame: 'protocol',
  frame_too_large: 'protocol',
  bad_runtime_chunk: 'protocol',
  sse_event_too_large: 'protocol',
  wrong_model_identity: 'protocol',
  token_limit_exceeded: 'limit',
  byte_limit_exceeded: 'limit',
  deadline_exceeded: 'limit',
  runtime_error: 'runtime',
  runtime_rejected: 'runtime',
  provider_error: 'runtime',
  invalid_request: 'client'
} as const satisfies Record<string, InferFailureKind>

export type InferErrorCode = keyof typeof INFER_ERROR_KINDS
const CODES = Object.keys(INFER_ERROR_KINDS) as [InferErrorCode, ...InferErrorCode[]]

/** A code from the wire: one this version does not know becomes `provider_error` (a failure). */
export const InferErrorCodeSchema = z.enum(CODES).catch('provider_error')

export class InferError extends MeshworkError {
  readonly kind: InferFailureKind
  declare readonly code: InferErrorCode
  constructor(code: InferErrorCode, message: string, status = 502, options?: ErrorOptions) {
    super(message, code, status, options)
    this.name = 'InferError'
    this.kind = INFER_ERROR_KINDS[code]
  }
}

/** Any thrown value as an InferError (an AbortSignal timeout becomes `timeout`). */
export function toInferError(err: unknown, fallback: InferErrorCode = 'provider_stream_broken'): InferError {
  if (err instanceof InferError) return err
  const e = err as { name?: string; code?: unknown; message?: string }
  if (e?.name === 'TimeoutError') return new InferError('timeout', e.message ?? 'timed out', 504, { cause: err })
  const known = typeof e?.code === 'string' && e.code in INFER_ERROR_KINDS ? (e.code as InferErrorCode) : fallback
  return new InferError(known, e?.message ?? String(err), 502, { cause: err })
}
