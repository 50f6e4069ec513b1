import { MeshworkError } from '../../../shared/errors'

export { MeshworkError }

export class InvalidRequestError extends MeshworkError {
  constructor(message: string, code = 'invalid_request') {
    super(message, code, 400)
    this.name = 'InvalidRequestError'
  }
}

export class ModelNotFoundError extends MeshworkError {
  constructor(model: string) {
    super(`The model '${model}' does not exist in the mesh`, 'model_not_found', 404)
    this.name = 'ModelNotFoundError'
  }
}

export class NoProviderError extends MeshworkError {
  readonly retryAfterSeconds: number
  constructor(
    model: string,
    retryAfterSeconds = 5,
    message = `No live provider serves '${model}' right now`,
    code = 'no_provider_available'
  ) {
    super(message, code, 503)
    this.name = 'NoProviderError'
    this.retryAfterSeconds = retryAfterSeconds
  }
}

/** Every provider a request tried refused for a full queue: they are alive, and retrying helps. */
export class ProvidersBusyError extends NoProviderError {
  constructor(model: string, retryAfterSeconds = 5) {
    super(
      model,
      retryAfterSeconds,
      `Every provider of '${model}' this node tried is busy (its queue is full); retry shortly`,
      'providers_busy'
    )
    this.name = 'ProvidersBusyError'
  }
}

export class PausedError extends MeshworkError {
  constructor() {
    super('This provider is paused and takes no new jobs', 'provider_paused', 503)
    this.name = 'PausedError'
  }
}

export class BusyError extends MeshworkError {
  constructor(message = 'The provider queue is full') {
    super(message, 'provider_busy', 429)
    this.name = 'BusyError'
  }
}

export class RuntimeUnavailableError extends MeshworkError {
  constructor(message: string) {
    super(message, 'runtime_unavailable', 503)
    this.name = 'RuntimeUnavailableError'
  }
}

export class FrameTooLargeError extends MeshworkError {
  constructor(size: number, limit: number) {
    super(`Frame of ${size} bytes exceeds the limit of ${limit}`, 'frame_too_large', 413)
    this.name = 'FrameTooLargeError'
  }
}

export class AdvertRejectedError extends MeshworkError {
  constructor(reason: string) {
    super(`Advert rejected: ${reason}`, 'advert_rejected', 400)
    this.name = 'AdvertRejectedError'
  }
}
