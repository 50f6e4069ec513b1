import { createHash } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { z } from 'zod'
import { type BenchmarkMap, type HardwareProfile, ModelBenchmarkSchema } from '../../../../shared/hardware'
import type { ServedModel } from '../../../../shared/models'
import type { ProgressEvent } from '../types'
import type { Logger } from '../../util/logger'
import type { AbortOptions } from '../../util/startable'
import { benchmarkModel } from './benchmark'

/** Bump when the prompt or the method changes, so that old numbers are measured again. */
export const BENCH_METHOD_VERSION = 2
const MAX_FILE_BYTES = 1024 * 1024
const MAX_ENTRIES = 256

const EntrySchema = z.object({
  model: z.string().max(256),
  sha256: z.string().max(64),
  runtime: z.string().max(32),
  benchmark: ModelBenchmarkSchema
})
const CacheFileSchema = z.object({
  version: z.literal(1),
  entries: z.record(z.string().regex(/^[0-9a-f]{64}$/), EntrySchema)
})
type CacheFile = z.infer<typeof CacheFileSchema>

/**
 * What decides whether a measurement still holds: the GPUs, CPU and RAM (not their momentary load),
 * the model's GGUF hash and the runtime kind.
 */
export function benchmarkFingerprint(
  hardware: HardwareProfile,
  model: Pick<ServedModel, 'sha256'>,
  runtimeKind: string
): string {
  const stable = {
    v: BENCH_METHOD_VERSION,
    gpus: hardware.gpus.map((g) => [
      g.vendor,
      g.model,
      g.vramMB,
      g.driver ?? '',
      g.cudaVersion ?? '',
      g.rocmVersion ?? '',
      g.bus ?? ''
    ]),
    cpu: [hardware.cpu.brand, hardware.cpu.cores],
    memoryMB: hardware.memoryMB,
    sha256: model.sha256,
    runtime: runtimeKind
  }
  return createHash('sha256').update(JSON.stringify(stable)).digest('hex')
}

export function benchmarksPath(dataDir: string): string {
  return join(dataDir, 'benchmarks.json')
}

/** The cache, or an empty one when the file is missing, too large or not ours (it is only a cache). */
export async function readBenchmarkCache(dataDir: string, logger?: Logger): Promise<CacheFile> {
  const empty: CacheFile = { version: 1, entries: {} }
  let text: string
  try {
    text = await readFile(benchmarksPath(dataDir), 'utf8')
  } catch {
    return empty
  }
  if (text.length > MAX_FILE_BYTES) {
    logger?.warn('benchmarks.json is larger than 1 MiB; measuring again')
    return empty
  }
  try {
    return CacheFileSchema.parse(JSON.parse(text))
  } catch (err) {
    logger?.warn('benchmarks.json is unreadable; measuring again', { err })
    return empty
  }
}

async function writeBenchmarkCache(dataDir: string, cache: CacheFile): Promise<void> {
  const keys = Object.keys(cache.entries)
  if (keys.length > MAX_ENTRIES) {
    const oldest = keys.sort(
      (a, b) => (cache.entries[a].benchmark.measuredAt ?? 0) - (cache.entries[b].benchmark.measuredAt ?? 0)
    )
    for (const key of oldest.slice(0, keys.length - MAX_ENTRIES)) delete cache.entries[key]
  }
  const path = benchmarksPath(dataDir)
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, JSON.stringify(cache, null, 2) + '\n')
  await rename(tmp, path)
}

export interface EnsureBenchmarksOptions extends AbortOptions {
  dataDir: string
  /** base URL of the OpenAI-compatible server (no /v1) */
  endpoint: string
  /** Sent as `Authorization: Bearer` (the worker's per-launch token). */
  token?: string
  runtimeKind: string
  hardware: HardwareProfile
  models: ServedModel[]
  /** measure again even when the cache holds a result for this fingerprint */
  force?: boolean
  runs?: number
  maxTokens?: number
  onProgress?: (event: ProgressEvent) => void
  logger?: Logger
}

/**
 * Benchmarks for every served model: from <dataDir>/benchmarks.json when hardware, model and
 * runtime are unchanged, measured (and cached) otherwise. A model that fails to benchmark is
 * logged and left out; aborting stops everything.
 */
export async function ensureBenchmarks(options: EnsureBenchmarksOptions): Promise<BenchmarkMap> {
  const { dataDir, hardware, runtimeKind, logger } = options
  const cache = await readBenchmarkCache(dataDir, logger)
  const result: BenchmarkMap = {}
  let changed = false
  for (const model of options.models) {
    options.signal?.throwIfAborted()
    const key = benchmarkFingerprint(hardware, model, runtimeKind)
    const cached = cache.entries[key]
    if (cached && !options.force) {
      result[model.name] = cached.benchmark
      options.onProgress?.({ task: `benchmark:${model.name}`, fraction: 1, message: 'cached' })
      continue
    }
    try {
      const benchmark = await benchmarkModel(options.endpoint, model, {
        runs: options.runs,
        maxTokens: options.maxTokens,
        token: options.token,
        signal: options.signal,
        onProgress: options.onProgress
      })
      result[model.name] = benchmark
      cache.entries[key] = { model: model.name, sha256: model.sha256, runtime: runtimeKind, benchmark }
      changed = true
      logger?.info('benchmarked', { model: model.name, ...benchmark })
    } catch (err) {
      options.signal?.throwIfAborted()
      logger?.error('benchmark failed', { model: model.name, err })
      options.onProgress?.({
        task: `benchmark:${model.name}`,
        fraction: 1,
        message: `failed: ${(err as Error).message}`
      })
    }
  }
  if (changed) await writeBenchmarkCache(dataDir, cache)
  return result
}
