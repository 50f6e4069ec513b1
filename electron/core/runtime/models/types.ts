import type { ProgressEvent } from '../types'

/** A model file ready to load: the sha256 decides who may continue whose stream (only the same GGUF continues token-exactly). */
export interface ResolvedModel {
  name: string
  path: string
  sha256: string
  params: number
  contextLength: number
}

export interface ModelOptions {
  signal?: AbortSignal
  onProgress?: (event: ProgressEvent) => void
}
