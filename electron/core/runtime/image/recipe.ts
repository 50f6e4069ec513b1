import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { dirname, posix } from 'node:path'
import type { WorkerPaths } from '../paths'
import type { ProgressEvent } from '../types'
import { bareImports, listFiles, packageClosure, type SourceFile } from './closure'
import { FileDigests, keyOf } from './digests'
import { sharedLibraries } from './shared-libs'
import type { TarEntry } from './tar'

/** Bump when the layout below changes, so that older images are not reused. */
const RECIPE_VERSION = 2
export const IMAGE_REPOSITORY = 'meshwork-worker'
/** Port the worker listens on inside the container. */
export const CONTAINER_PORT = 8080
/** uid:gid the worker runs as (nobody); the image has no passwd file, numbers are enough. */
export const CONTAINER_USER = '65534:65534'
const NODE_TARGET = 'usr/local/bin/node'

export type ImageVariant = 'cpu' | 'cuda' | 'vulkan'

/** One COPY each, in this order: what changes least comes first, so a new worker reuses the lower layers. */
const LAYERS = ['base', 'modules', 'worker'] as const
type Layer = (typeof LAYERS)[number]
type LayerFile = SourceFile & { layer: Layer }

export interface WorkerImageRecipe {
  /** `meshwork-worker:<content hash>` */
  tag: string
  hash: string
  variant: ImageVariant
  entries: TarEntry[]
  /** Bytes of file data in the context. */
  bytes: number
  /** Libraries ldd could not find here (for GPU variants the driver provides some at run time). */
  missingLibraries: string[]
}

export interface RecipeOptions {
  signal?: AbortSignal
  /** Labels written into the image (not part of its content hash). */
  labels?: Record<string, string>
  /** Remembers file digests between runs (e.g. <dataDir>/cache/worker-digests.json). */
  digestCachePath?: string
  onProgress?: (event: ProgressEvent) => void
}

/** The node-llama-cpp prebuilt package(s) a variant carries; the other GPU prebuilts stay out. */
export function prebuiltPackages(variant: ImageVariant, arch = process.arch): string[] {
  const base = `@node-llama-cpp/linux-${arch}`
  if (variant === 'cuda') return [base, `${base}-cuda`, `${base}-cuda-ext`]
  if (variant === 'vulkan') return [base, `${base}-vulkan`]
  return [base]
}

// Not needed at run time: llama.cpp's source bundle (for building from source), typings, source maps.
function skipFile(rel: string): boolean {
  return /\/llama\/gitRelease\.bundle$|\.d\.[mc]?ts$|\.d\.ts\.map$|\.js\.map$/.test(rel)
}

export function dockerfile(libraryDirs: string[], labels: Record<string, string> = {}): string {
  const lines = [
    'FROM scratch',
    ...LAYERS.map((layer) => `COPY ${layer}/ /`),
    `ENV PATH=/usr/local/bin LD_LIBRARY_PATH=${libraryDirs.join(':')} HOME=/tmp NODE_ENV=production NODE_LLAMA_CPP_SKIP_DOWNLOAD=true`,
    'WORKDIR /app',
    `USER ${CONTAINER_USER}`,
    `EXPOSE ${CONTAINER_PORT}`,
    `ENTRYPOINT ["/${NODE_TARGET}", "/app/dist/worker/worker.js"]`
  ]
  const pairs = Object.entries(labels).map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`)
  if (pairs.length > 0) lines.push(`LABEL ${pairs.join(' ')}`)
  return lines.join('\n') + '\n'
}

async function workerImports(files: SourceFile[]): Promise<string[]> {
  const names = new Set<string>()
  for (const file of files) {
    if (!/\.(m|c)?js$/.test(file.target)) continue
    for (const name of bareImports(await readFile(file.source, 'utf8'))) names.add(name)
  }
  return [...names]
}

async function stamp(source: string, target: string, layer: Layer): Promise<LayerFile> {
  const info = await stat(source)
  return {
    source,
    target,
    layer,
    size: info.size,
    mode: info.mode,
    mtimeMs: info.mtimeMs,
    ctimeMs: info.ctimeMs,
    ino: info.ino
  }
}

function directoryEntries(files: string[]): TarEntry[] {
  const dirs = new Set<string>()
  for (const file of files) {
    for (let dir = posix.dirname(file); dir.includes('/'); dir = posix.dirname(dir)) dirs.add(dir)
  }
  return [...dirs].sort().map((dir) => ({ name: `${dir}/`, mode: 0o755, size: 0 }))
}

const fileMode = (f: SourceFile): number => (f.mode & 0o111 ? 0o755 : 0o644)

/** Collects the files: Node + system libraries (base), JS packages (modules), the worker bundle (worker). */
async function collect(
  paths: WorkerPaths,
  variant: ImageVariant,
  digests: FileDigests,
  signal?: AbortSignal
): Promise<{ files: LayerFile[]; libraryDirs: string[]; missing: string[]; lddKey: string }> {
  const { rootDir, workerEntry, nodeBinary } = paths
  const workerDir = dirname(workerEntry)
  const worker = (await listFiles(workerDir, { rootDir: workerDir }))
    .filter((f) => !f.target.endsWith('.map'))
    .map((f): LayerFile => ({ ...f, target: `app/dist/worker/${f.target}`, layer: 'worker' }))
  const wanted = new Set(prebuiltPackages(variant))
  const closureOptions = {
    rootDir,
    skipFile,
    skipPackage: (name: string) => name.startsWith('@node-llama-cpp/') && !wanted.has(name)
  }
  const modules: SourceFile[] = []
  for (const dir of packageClosure([...(await workerImports(worker)), ...wanted], closureOptions))
    await listFiles(dir, closureOptions, modules)
  signal?.throwIfAborted()
  const node: LayerFile = { ...(await stamp(nodeBinary, NODE_TARGET, 'base')), mode: 0o755 }
  const native = [node, ...modules.filter((f) => f.target.endsWith('.node') || /\.so(\.|$)/.test(f.target))]
  // ldd is slow (it loads every library), so its answer is remembered until one of these files changes
  const lddKey = 'ldd|' + createHash('sha256').update(native.map(keyOf).join('\n')).digest('hex')
  const libs = JSON.parse(
    await digests.remember(lddKey, async () =>
      JSON.stringify(
        await sharedLibraries(
          native.map((f) => f.source),
          { signal }
        )
      )
    )
  ) as { paths: string[]; missing: string[] }
  const base: LayerFile[] = [node]
  const libraryDirs = new Set<string>()
  for (const lib of libs.paths) {
    if (lib.startsWith(rootDir + '/')) continue // inside a package copied below
    base.push({ ...(await stamp(lib, lib.slice(1), 'base')), mode: 0o755 })
    libraryDirs.add(posix.dirname(lib))
  }
  const files = [
    ...base,
    ...modules.map((f): LayerFile => ({ ...f, target: `app/${f.target}`, layer: 'modules' })),
    ...worker
  ]
  files.sort(
    (a, b) =>
      LAYERS.indexOf(a.layer) - LAYERS.indexOf(b.layer) || (a.target < b.target ? -1 : a.target > b.target ? 1 : 0)
  )
  // without ld.so.cache in the image the loader needs the directories spelled out
  return { files, libraryDirs: [...libraryDirs].sort(), missing: libs.missing, lddKey }
}

/**
 * Everything the worker needs, taken from this machine: the Node binary, the shared libraries ldd lists
 * for it and for the llama prebuilt, the JS packages the worker imports (with their dependencies) and the
 * worker bundle. Models are not in the image: they are mounted read-only when a container starts.
 * The tag is a hash of all of it, so an unchanged worker is never rebuilt.
 */
export async function workerImageRecipe(
  paths: WorkerPaths,
  variant: ImageVariant = 'cpu',
  options: RecipeOptions = {}
): Promise<WorkerImageRecipe> {
  if (process.platform !== 'linux')
    throw new Error(
      "The worker image is built from this machine's Linux binaries; on other systems configure a registry image"
    )
  if (!existsSync(paths.workerEntry))
    throw new Error(`The worker bundle ${paths.workerEntry} is missing: run \`npm run build\` first`)
  const { signal, onProgress } = options
  const digests = await FileDigests.open(options.digestCachePath)
  const { files, libraryDirs, missing, lddKey } = await collect(paths, variant, digests, signal)
  const bytes = files.reduce((sum, f) => sum + f.size, 0)

  const hash = createHash('sha256')
  hash.update(`meshwork-worker-recipe:${RECIPE_VERSION}:${variant}\n${dockerfile(libraryDirs)}`)
  let hashed = 0
  let reported = 0
  for (const file of files) {
    signal?.throwIfAborted()
    hash.update(`${file.layer}\0${file.target}\0${fileMode(file)}\0${await digests.digest(file)}\n`)
    hashed += file.size
    if (hashed - reported > 32e6) {
      reported = hashed
      onProgress?.({
        task: 'worker-image',
        fraction: 0,
        message: `Checking the worker files (${Math.round(hashed / 1e6)}/${Math.round(bytes / 1e6)} MB)`
      })
    }
  }
  await digests.save(files, [lddKey]).catch(() => undefined)
  const digest = hash.digest('hex')
  const text = dockerfile(libraryDirs, { ...options.labels, 'meshwork.content-hash': digest })

  const entries: TarEntry[] = [
    { name: 'Dockerfile', mode: 0o644, size: Buffer.byteLength(text), content: Buffer.from(text) }
  ]
  for (const layer of LAYERS) {
    const inLayer = files.filter((f) => f.layer === layer)
    entries.push({ name: `${layer}/`, mode: 0o755, size: 0 })
    if (layer === 'base') entries.push({ name: 'base/tmp/', mode: 0o1777, size: 0 })
    entries.push(...directoryEntries(inLayer.map((f) => `${layer}/${f.target}`)))
    entries.push(
      ...inLayer.map((f) => ({ name: `${layer}/${f.target}`, mode: fileMode(f), size: f.size, source: f.source }))
    )
  }
  return {
    tag: `${IMAGE_REPOSITORY}:${digest.slice(0, 20)}`,
    hash: digest,
    variant,
    entries,
    bytes,
    missingLibraries: missing
  }
}
