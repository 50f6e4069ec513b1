import { createHash } from 'node:crypto'
import { mkdir, open, rm, stat } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { MODEL_NAME } from '../../../../shared/models'
import { MeshworkError } from '../../util/errors'
import { ensureBuiltinModel, isBuiltinModel } from './builtin'
import { downloadFile } from './download'
import { readSidecar, sha256File, writeSidecar } from './hash'
import type { ModelOptions, ResolvedModel } from './types'

export class InvalidModelError extends MeshworkError {
  constructor(message: string) {
    super(message, 'invalid_model', 400)
    this.name = 'InvalidModelError'
  }
}

export type ModelSource =
  | { kind: 'builtin'; name: string }
  | { kind: 'path'; name: string; path: string }
  | { kind: 'url'; name: string; url: string; sha256?: string; fileName: string }

/** A model name from a file stem: characters outside the allowed set become `-`. */
export function nameFromFile(file: string): string {
  const stem = basename(file).replace(/\.gguf$/i, '')
  const clean = stem
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 128)
  return clean || 'model'
}

/**
 * `meshwork-tiny` (built-in), `./x.gguf` / `/abs/x.gguf` (name = stem), or
 * `https://host/x.gguf[#sha256=<hex>]` (plain http only with the sha256); any of them may be prefixed `NAME=` to choose the served name.
 */
export function parseModelSpec(spec: string): ModelSource {
  const named = spec.match(/^([A-Za-z0-9][A-Za-z0-9._-]{0,127})=(.+)$/)
  const chosen = named?.[1]
  const rest = named ? named[2] : spec
  if (/^https?:\/\//i.test(rest)) {
    let url: URL
    try {
      url = new URL(rest)
    } catch {
      throw new InvalidModelError(`Not a valid URL: ${rest}`)
    }
    const hash = url.hash.match(/^#sha256=([0-9a-fA-F]{64})$/)
    if (url.hash && !hash)
      throw new InvalidModelError(`A model URL fragment must be #sha256=<64 hex digits>, got ${url.hash}`)
    url.hash = ''
    if (url.protocol === 'http:' && !hash) {
      throw new InvalidModelError(
        `A plain http:// model URL needs #sha256=<64 hex digits> (or use https): ${rest.slice(0, 200)}`
      )
    }
    const fileName = nameFromFile(decodeURIComponent(url.pathname.split('/').pop() || 'model')) + '.gguf'
    return {
      kind: 'url',
      name: chosen ?? nameFromFile(fileName),
      url: url.toString(),
      sha256: hash?.[1].toLowerCase(),
      fileName
    }
  }
  if (!named && isBuiltinModel(rest)) return { kind: 'builtin', name: rest }
  if (!/\.gguf$/i.test(rest) && !rest.includes('/')) {
    throw new InvalidModelError(`'${rest}' is neither a built-in model, a .gguf path nor an http(s) URL`)
  }
  return { kind: 'path', name: chosen ?? nameFromFile(rest), path: resolve(rest) }
}

async function assertGguf(path: string): Promise<void> {
  const file = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new InvalidModelError(`Cannot open model file ${path}: ${err.code ?? err.message}`)
  })
  try {
    const { bytesRead, buffer } = await file.read(Buffer.alloc(4), 0, 4, 0)
    if (bytesRead < 4 || buffer.toString('latin1') !== 'GGUF') throw new InvalidModelError(`${path} is not a GGUF file`)
  } finally {
    await file.close()
  }
}

/** sha256, parameter count and context length of a GGUF, cached in `cachePath`. */
export async function describeGguf(
  name: string,
  path: string,
  cachePath: string,
  options: ModelOptions & { knownSha256?: string } = {}
): Promise<ResolvedModel> {
  await assertGguf(path)
  const cached = await readSidecar(path, cachePath)
  if (cached?.params !== undefined && cached.contextLength !== undefined) {
    return { name, path, sha256: cached.sha256, params: cached.params, contextLength: cached.contextLength }
  }
  if (!options.knownSha256) options.onProgress?.({ task: `model:${name}`, message: `Hashing ${basename(path)}` })
  // loaded on first use: a node that serves no GGUF model never pays for node-llama-cpp (~10 MB heap)
  const { readGgufFileInfo } = await import('node-llama-cpp')
  const info = await readGgufFileInfo(path, { logWarnings: false, signal: options.signal })
  const params = (info.fullTensorInfo ?? info.tensorInfo ?? []).reduce(
    (sum, t) => sum + t.dimensions.reduce<number>((a, b) => a * Number(b), 1),
    0
  )
  const arch = info.architectureMetadata as { context_length?: number }
  const contextLength = Number(arch.context_length ?? 2048)
  const sha256 = options.knownSha256 ?? (await sha256File(path, { signal: options.signal }))
  // the cache is an optimisation: a read-only location only costs a re-hash next time
  await writeSidecar(path, { sha256, params, contextLength }, cachePath).catch(() => undefined)
  return { name, path, sha256, params, contextLength }
}

const cacheFor = (modelsDir: string, path: string): string =>
  join(modelsDir, 'cache', createHash('sha256').update(path).digest('hex').slice(0, 32) + '.json')

/**
 * Turns a model spec (built-in name, .gguf path, http(s) URL) into a file on disk with its
 * sha256. Downloads go to `<dataDir>/models`.
 */
export async function resolveModel(spec: string, dataDir: string, options: ModelOptions = {}): Promise<ResolvedModel> {
  const source = parseModelSpec(spec)
  const modelsDir = join(dataDir, 'models')
  if (source.kind === 'builtin') return ensureBuiltinModel(source.name, modelsDir, options)
  await mkdir(join(modelsDir, 'cache'), { recursive: true })

  if (source.kind === 'path') {
    const info = await stat(source.path).catch(() => undefined)
    if (!info?.isFile()) throw new InvalidModelError(`Model file not found: ${source.path}`)
    const model = await describeGguf(source.name, source.path, cacheFor(modelsDir, source.path), options)
    if (!MODEL_NAME.test(model.name)) throw new InvalidModelError(`Invalid model name '${model.name}'`)
    return model
  }

  const dest = join(modelsDir, source.fileName)
  const cachePath = cacheFor(modelsDir, dest)
  const existing = await readSidecar(dest, cachePath)
  if (existing && existing.fingerprint === source.url && (!source.sha256 || existing.sha256 === source.sha256)) {
    return describeGguf(source.name, dest, cachePath, options)
  }
  const task = `download:${source.name}`
  const done = await downloadFile(source.url, dest, { ...options, sha256: source.sha256, task })
  try {
    await assertGguf(dest)
  } catch (err) {
    await rm(dest, { force: true })
    throw err
  }
  const model = await describeGguf(source.name, dest, cachePath, { ...options, knownSha256: done.sha256 })
  await writeSidecar(
    dest,
    { sha256: model.sha256, params: model.params, contextLength: model.contextLength, fingerprint: source.url },
    cachePath
  )
  return model
}
