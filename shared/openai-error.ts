/**
 * OpenAI-style error bodies, `{ error: { message, type, code, param } }`, built in one place for the
 * node's API and for the worker inside the container. Platform-free.
 */

export type OpenAiErrorType = 'invalid_request_error' | 'authentication_error' | 'rate_limit_error' | 'server_error'

export interface OpenAiErrorBody {
  error: { message: string; type: OpenAiErrorType; code: string; param: string | null }
}

/** OpenAI's error `type` for an HTTP status: what an SDK and a person reading it expect. */
export function openAiErrorType(status: number): OpenAiErrorType {
  if (status === 401) return 'authentication_error'
  if (status === 429) return 'rate_limit_error'
  if (status >= 500) return 'server_error'
  return 'invalid_request_error'
}

export function openAiErrorBody(
  status: number,
  code: string,
  message: string,
  param: string | null = null
): OpenAiErrorBody {
  return { error: { message, type: openAiErrorType(status), code, param } }
}
