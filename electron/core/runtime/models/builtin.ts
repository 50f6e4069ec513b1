import { randomBytes } from 'node:crypto'
import { mkdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { MeshworkError } from '../../util/errors'
import { GgmlType, writeGguf } from './gguf-writer'
import { readSidecar, sha256File, writeSidecar } from './hash'
import { buildSyntheticModel, type SyntheticModelSpec } from './synthetic'
import type { ModelOptions, ResolvedModel } from './types'

/** Bump when the writer or generator changes the bytes, so cached files are rewritten. */
const GENERATOR_VERSION = 1

export const BUILTIN_MODELS = {
  /** small and fast: tests, default served model */
  'meshwork-tiny': {
    name: 'meshwork-tiny',
    seed: 0x6d657368,
    embedding: 64,
    layers: 2,
    heads: 4,
    headsKv: 4,
    feedForward: 192,
    contextLength: 4096,
    matrixType: GgmlType.F32,
    gain: 2
  },
  /** ~51 MB F16: benchmarks */
  'meshwork-small': {
    name: 'meshwork-small',
    seed: 0x736d616c,
    embedding: 512,
    layers: 8,
    heads: 8,
    headsKv: 8,
    feedForward: 1408,
    contextLength: 4096,
    matrixType: GgmlType.F16,
    gain: 2
  }
} as const satisfies Record<string, SyntheticModelSpec>

export type BuiltinModelName = keyof typeof BUILTIN_MODELS

export function isBuiltinModel(name: string): name is BuiltinModelName {
  return Object.hasOwn(BUILTIN_MODELS, name)
}

export class UnknownBuiltinModelError extends MeshworkError {
  constructor(name: string) {
    super(`No built-in model '${name}' (built-in: ${Object.keys(BUILTIN_MODELS).join(', ')})`, 'model_not_found', 404)
    this.name = 'UnknownBuiltinModelError'
  }
}

const fingerprint = (spec: SyntheticModelSpec): string => JSON.stringify({ v: GENERATOR_VERSION, ...spec })
const inFlight = new Map<string, Promise<ResolvedModel>>()

/**
 * Writes `<modelsDir>/<name>.gguf` once (temp file + rename, so never half-written) and returns it
 * with its sha256, which is cached next to the file so later starts do not re-hash.
 */
export async function ensureBuiltinModel(
  name: string,
  modelsDir: string,
  options: ModelOptions = {}
): Promise<ResolvedModel> {
  if (!isBuiltinModel(name)) throw new UnknownBuiltinModelError(name)
  const path = join(modelsDir, `${name}.gguf`)
  const running = inFlight.get(path)
  if (running) return running
  const job = ensure(name, path, modelsDir, options).finally(() => inFlight.delete(path))
  inFlight.set(path, job)
  return job
}

async function ensure(
  name: BuiltinModelName,
  path: string,
  modelsDir: string,
  options: ModelOptions
): Promise<ResolvedModel> {
  const spec: SyntheticModelSpec = BUILTIN_MODELS[name]
  const print = fingerprint(spec)
  const cached = await readSidecar(path)
  if (cached && cached.fingerprint === print && cached.params !== undefined) {
    return { name, path, sha256: cached.sha256, params: cached.params, contextLength: spec.contextLength }
  }
  const task = `model:${name}`
  options.onProgress?.({ task, fraction: 0, message: `Writing built-in model ${name}` })
  await mkdir(modelsDir, { recursive: true })
  const model = buildSyntheticModel(spec)
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writeGguf(tmp, model.metadata, model.tensors, {
      signal: options.signal,
      onTensor: (i, total) => options.onProgress?.({ task, fraction: (0.9 * i) / total })
    })
    const sha256 = await sha256File(tmp, { signal: options.signal })
    await rename(tmp, path)
    await writeSidecar(path, { sha256, params: model.params, contextLength: spec.contextLength, fingerprint: print })
    options.onProgress?.({ task, fraction: 1, message: `Built-in model ${name} ready` })
    return { name, path, sha256, params: model.params, contextLength: spec.contextLength }
  } finally {
    await rm(tmp, { force: true })
  }
}
