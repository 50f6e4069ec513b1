import { openAiErrorBody, type OpenAiErrorBody } from '../../shared/openai-error'

/** Errors the worker answers with, as OpenAI-style `{error:{message,type,code}}` bodies. */
export class WorkerError extends Error {
  readonly status: number
  readonly code: string
  readonly headers: Record<string, string>
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.name = 'WorkerError'
    this.status = status
    this.code = code
    this.headers = headers
  }
}

export const badRequest = (message: string, code = 'invalid_request'): WorkerError =>
  new WorkerError(400, code, message)
export const notFound = (message: string, code = 'not_found'): WorkerError => new WorkerError(404, code, message)
export const tooLarge = (limit: number): WorkerError =>
  new WorkerError(413, 'body_too_large', `Request body exceeds the limit of ${limit} bytes`)
export const queueFull = (): WorkerError =>
  new WorkerError(429, 'queue_full', 'The worker queue is full; retry shortly', { 'retry-after': '1' })
export const shuttingDown = (): WorkerError =>
  new WorkerError(503, 'shutting_down', 'The worker is shutting down', { 'retry-after': '5' })

export function errorBody(err: WorkerError): OpenAiErrorBody {
  return openAiErrorBody(err.status, err.code, err.message)
}
