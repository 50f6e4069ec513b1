import type Docker from 'dockerode'
import type { Logger } from '../../util/logger'
import { MeshworkError } from '../../util/errors'
import { workerImageRecipe, type ImageVariant } from '../image/recipe'
import { tarStream } from '../image/tar'
import type { WorkerPaths } from '../paths'
import type { ProgressEvent } from '../types'
import { removeOldWorkerImages } from './image-cleanup'
import { readJsonLines } from './json-lines'

export class ImageBuildError extends MeshworkError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'worker_image_failed', 500, options)
    this.name = 'ImageBuildError'
  }
}

export interface EnsureImageOptions {
  docker: Docker
  paths: WorkerPaths
  variant?: ImageVariant
  /** A registry image that speaks the worker CLI; pulled (when absent) instead of building one. */
  image?: string
  labels: Record<string, string>
  /** Remembers file digests between runs, so an unchanged install is not re-read at every start. */
  digestCachePath?: string
  /** Build without the engine's layer cache (benchmarks: cold build). */
  noCache?: boolean
  onProgress?: (event: ProgressEvent) => void
  log?: Logger
  signal?: AbortSignal
}

export interface WorkerImage {
  tag: string
  source: 'cached' | 'built' | 'pulled' | 'present'
  ms: number
  sizeBytes?: number
}

async function imageSize(docker: Docker, tag: string): Promise<number | undefined> {
  try {
    return (await docker.getImage(tag).inspect()).Size
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined
    throw err
  }
}

async function imageId(docker: Docker, tag: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(tag).inspect()).Id
  } catch {
    return undefined
  }
}

/** The worker image for this machine: reused when its content hash is unchanged, else built from a tar context. */
export async function ensureWorkerImage(options: EnsureImageOptions): Promise<WorkerImage> {
  const started = Date.now()
  if (options.image !== undefined) return pullImage(options.image, options, started)
  const { docker, signal } = options
  const progress = (fraction: number | undefined, message: string): void =>
    options.onProgress?.({ task: 'worker-image', fraction, message })
  progress(0, 'Collecting the worker, Node and llama.cpp files')
  const recipe = await workerImageRecipe(options.paths, options.variant ?? 'cpu', {
    signal,
    labels: options.labels,
    digestCachePath: options.digestCachePath,
    onProgress: options.onProgress
  })
  if (recipe.missingLibraries.length > 0)
    options.log?.warn('libraries not found on this machine', { missing: recipe.missingLibraries })
  const previous = await imageId(docker, recipe.tag)
  if (!options.noCache) {
    const size = await imageSize(docker, recipe.tag)
    if (size !== undefined) {
      progress(1, `Worker image ${recipe.tag} is up to date`)
      return { tag: recipe.tag, source: 'cached', ms: Date.now() - started, sizeBytes: size }
    }
  }
  options.log?.info('building the worker image', { tag: recipe.tag, megabytes: Math.round(recipe.bytes / 1e6) })
  let lastReport = 0
  const context = tarStream(recipe.entries, (sent) => {
    const now = Date.now()
    if (now - lastReport < 250) return
    lastReport = now
    progress(
      0.8 * (sent / recipe.bytes),
      `Sending the build context (${Math.round(sent / 1e6)}/${Math.round(recipe.bytes / 1e6)} MB)`
    )
  })
  const stream = await docker.buildImage(
    context as unknown as NodeJS.ReadableStream,
    {
      t: recipe.tag,
      forcerm: true,
      nocache: options.noCache === true,
      abortSignal: signal
    } as Docker.ImageBuildOptions
  )
  let failure: string | undefined
  await readJsonLines(stream, (line) => {
    if (typeof line.error === 'string') failure = line.error
    const text = typeof line.stream === 'string' ? line.stream.trim() : ''
    const step = /^Step (\d+)\/(\d+)/.exec(text)
    if (step) progress(0.8 + (0.2 * Number(step[1])) / Number(step[2]), text)
    else if (text !== '') options.log?.debug(text)
  })
  if (failure !== undefined) throw new ImageBuildError(`Building the worker image failed: ${failure}`)
  const size = await imageSize(docker, recipe.tag)
  if (size === undefined) throw new ImageBuildError(`The engine reported no error, but ${recipe.tag} does not exist`)
  if (previous !== undefined && previous !== (await imageId(docker, recipe.tag))) {
    // a forced rebuild leaves the old image untagged; drop it unless a container still uses it
    await docker
      .getImage(previous)
      .remove()
      .catch(() => undefined)
  }
  // a new image means this install changed: the images of earlier versions are dead weight
  await removeOldWorkerImages(docker, recipe.tag, options.log).catch((err: Error) =>
    options.log?.warn('could not clean up older worker images', { err: err.message })
  )
  progress(1, `Built ${recipe.tag}`)
  return { tag: recipe.tag, source: 'built', ms: Date.now() - started, sizeBytes: size }
}

async function pullImage(image: string, options: EnsureImageOptions, started: number): Promise<WorkerImage> {
  const { docker, signal } = options
  const present = await imageSize(docker, image)
  if (present !== undefined) return { tag: image, source: 'present', ms: Date.now() - started, sizeBytes: present }
  options.log?.info('pulling the worker image', { image })
  const layers = new Map<string, { current: number; total: number }>()
  let failure: string | undefined
  try {
    const stream = await docker.pull(image, { abortSignal: signal })
    await readJsonLines(stream, (line) => {
      if (typeof line.error === 'string') failure = line.error
      const detail = line.progressDetail as { current?: number; total?: number } | undefined
      if (typeof line.id === 'string' && detail?.total)
        layers.set(line.id, { current: detail.current ?? 0, total: detail.total })
      let current = 0
      let total = 0
      for (const layer of layers.values()) {
        current += layer.current
        total += layer.total
      }
      options.onProgress?.({
        task: 'worker-image',
        fraction: total > 0 ? current / total : undefined,
        message: `Pulling ${image}: ${String(line.status ?? '')}`
      })
    })
  } catch (err) {
    throw new ImageBuildError(`Pulling ${image} failed: ${(err as Error).message}`, { cause: err })
  }
  if (failure !== undefined) throw new ImageBuildError(`Pulling ${image} failed: ${failure}`)
  const size = await imageSize(docker, image)
  options.onProgress?.({ task: 'worker-image', fraction: 1, message: `Pulled ${image}` })
  return { tag: image, source: 'pulled', ms: Date.now() - started, sizeBytes: size }
}
