/**
 * Errors carry a stable `code` and an HTTP status; the API maps them to OpenAI-style bodies.
 * Platform-free so the wire protocols in shared/ can define their own error classes on it.
 */
export class MeshworkError extends Error {
  readonly code: string
  readonly status: number
  constructor(message: string, code: string, status = 500, options?: ErrorOptions) {
    super(message, options)
    this.name = 'MeshworkError'
    this.code = code
    this.status = status
  }
}
