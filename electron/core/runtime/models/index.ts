export {
  BUILTIN_MODELS,
  ensureBuiltinModel,
  isBuiltinModel,
  UnknownBuiltinModelError,
  type BuiltinModelName
} from './builtin'
export {
  assertModelUrl,
  ChecksumMismatchError,
  DEFAULT_MAX_MODEL_BYTES,
  DownloadError,
  downloadFile,
  ModelTooLargeError,
  ModelUrlError,
  partPathFor,
  type DownloadOptions,
  type DownloadResult
} from './download'
export { describeGguf, InvalidModelError, nameFromFile, parseModelSpec, resolveModel, type ModelSource } from './store'
export type { ModelOptions, ResolvedModel } from './types'
