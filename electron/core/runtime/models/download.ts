import { createHash } from 'node:crypto'
import { open, rename, rm, stat } from 'node:fs/promises'
import { MeshworkError } from '../../util/errors'
import { sleep } from '../../util/startable'
import { sha256File } from './hash'
import type { ModelOptions } from './types'

export class DownloadError extends MeshworkError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'download_failed', 502, options)
    this.name = 'DownloadError'
  }
}

export class ChecksumMismatchError extends MeshworkError {
  constructor(url: string, expected: string, actual: string) {
    super(
      `Checksum mismatch for ${url}: expected sha256 ${expected}, got ${actual}; the file was removed`,
      'checksum_mismatch',
      502
    )
    this.name = 'ChecksumMismatchError'
  }
}

export class ModelUrlError extends MeshworkError {
  constructor(message: string) {
    super(message, 'insecure_model_url', 400)
    this.name = 'ModelUrlError'
  }
}

export class ModelTooLargeError extends MeshworkError {
  constructor(url: string, bytes: number, limit: number) {
    super(
      `${url} is larger than the model size limit (${bytes} > ${limit} bytes); the partial file was removed`,
      'model_too_large',
      413
    )
    this.name = 'ModelTooLargeError'
  }
}

/** The largest file a model download may be (the biggest GGUFs in use are a few hundred GB). */
export const DEFAULT_MAX_MODEL_BYTES = 512 * 1024 ** 3

/**
 * A model URL must be https, or carry the sha256 the file must have: over plain http anyone on the
 * path could swap the weights. Also checked on the final URL after redirects.
 */
export function assertModelUrl(url: string, sha256: string | undefined): void {
  let protocol: string
  try {
    protocol = new URL(url).protocol
  } catch {
    throw new ModelUrlError(`Not a valid URL: ${url.slice(0, 200)}`)
  }
  if (protocol === 'https:' || (protocol === 'http:' && sha256 !== undefined)) return
  if (protocol === 'http:')
    throw new ModelUrlError(
      `A plain http:// model URL needs #sha256=<64 hex digits> (or use https): ${url.slice(0, 200)}`
    )
  throw new ModelUrlError(`A model URL must be https (or http with #sha256=): ${url.slice(0, 200)}`)
}

/** The partial file of one URL: named by a hash of the URL, so two URLs never share (or resume) one. */
export function partPathFor(dest: string, url: string): string {
  return `${dest}.${createHash('sha256').update(url).digest('hex').slice(0, 16)}.part`
}

export interface DownloadOptions extends ModelOptions {
  /** lower-case hex sha256 the finished file must have */
  sha256?: string
  /** progress task name */
  task?: string
  /** consecutive failed attempts without progress before giving up */
  maxRetries?: number
  retryDelayMs?: number
  /** Refuse (and remove) a file larger than this; default DEFAULT_MAX_MODEL_BYTES. */
  maxBytes?: number
}

export interface DownloadResult {
  path: string
  sha256: string
  bytes: number
}

const partSize = async (path: string): Promise<number> => (await stat(path).catch(() => undefined))?.size ?? 0

/** Total size from `Content-Range: bytes a-b/total` or `Content-Length` (+ the resume offset). */
function totalSize(res: Response, offset: number): number | undefined {
  const range = res.headers.get('content-range')?.match(/\/(\d+)$/)
  if (range) return Number(range[1])
  const length = res.headers.get('content-length')
  return length === null ? undefined : Number(length) + offset
}

class FatalHttpError extends DownloadError {}

const isFatal = (err: unknown): boolean =>
  err instanceof FatalHttpError || err instanceof ModelUrlError || err instanceof ModelTooLargeError

/**
 * Downloads `url` to `dest` through a .part file of its own (partPathFor): a cut connection resumes
 * with a Range request (also across calls: the .part file stays), the finished file is hashed and,
 * when `sha256` is given, checked before the rename. A mismatch removes the file and throws. The URL
 * must be https or name a sha256, and the file may not grow past `maxBytes`.
 */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const { signal, onProgress } = options
  const task = options.task ?? `download:${dest}`
  const maxRetries = options.maxRetries ?? 5
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MODEL_BYTES
  assertModelUrl(url, options.sha256)
  const part = partPathFor(dest, url)
  let failures = 0
  let lastReport = 0

  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted()
    const offset = await partSize(part)
    let received = offset
    try {
      const res = await fetch(url, {
        signal,
        headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
        redirect: 'follow'
      })
      if (res.status === 416 && offset > 0) {
        // the server has nothing past our offset: the .part is complete or stale; start over once
        await res.body?.cancel()
        await rm(part, { force: true })
        throw new DownloadError(`Server refused to resume at byte ${offset}`)
      }
      if (!res.ok) {
        await res.body?.cancel()
        const message = `GET ${url} answered ${res.status} ${res.statusText}`
        if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429)
          throw new FatalHttpError(message)
        throw new DownloadError(message)
      }
      if (res.url) assertModelUrl(res.url, options.sha256) // a redirect may not downgrade to plain http
      const resumed = res.status === 206 && offset > 0
      if (!resumed) received = 0
      const total = totalSize(res, resumed ? offset : 0)
      if (total !== undefined && total > maxBytes) {
        await res.body?.cancel()
        await rm(part, { force: true })
        throw new ModelTooLargeError(url, total, maxBytes)
      }
      const file = await open(part, resumed ? 'a' : 'w')
      try {
        if (!res.body) throw new DownloadError(`GET ${url} returned no body`)
        for await (const chunk of res.body) {
          received += chunk.length
          if (received > maxBytes) throw new ModelTooLargeError(url, received, maxBytes)
          await file.write(chunk)
          failures = 0
          const now = Date.now()
          if (now - lastReport > 200) {
            lastReport = now
            onProgress?.({
              task,
              fraction: total ? received / total : undefined,
              message: `${(received / 1e6).toFixed(1)} MB`
            })
          }
        }
      } finally {
        await file.close()
      }
      if (total !== undefined && received !== total)
        throw new DownloadError(`Connection ended at ${received} of ${total} bytes`)
      break
    } catch (err) {
      if (signal?.aborted) throw signal.reason
      if (err instanceof ModelTooLargeError) await rm(part, { force: true })
      if (isFatal(err)) throw err
      if (received === offset) failures++
      if (failures > maxRetries || attempt > 1000) {
        throw new DownloadError(`Download of ${url} failed after ${attempt + 1} attempts: ${(err as Error).message}`, {
          cause: err
        })
      }
      onProgress?.({ task, message: `Connection lost at ${received} bytes, resuming` })
      await sleep((options.retryDelayMs ?? 250) * Math.max(1, failures), { signal })
    }
  }

  const sha256 = await sha256File(part, { signal })
  if (options.sha256 && sha256 !== options.sha256.toLowerCase()) {
    await rm(part, { force: true })
    throw new ChecksumMismatchError(url, options.sha256, sha256)
  }
  const bytes = await partSize(part)
  await rename(part, dest)
  onProgress?.({ task, fraction: 1, message: 'Download complete' })
  return { path: dest, sha256, bytes }
}
