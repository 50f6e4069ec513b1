import { createHash } from 'node:crypto'
import { createReadStream, existsSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { dirname, posix } from 'node:path'
import type { WorkerPaths } from '../paths'
import { bareImports, listFiles, packageClosure, type SourceFile } from './closure'
import { sharedLibraries } from './shared-libs'
import type { TarEntry } from './tar'

/** Bump when the layout below changes, so that older images are not reused. */
const RECIPE_VERSION = 1
export const IMAGE_REPOSITORY = 'meshwork-worker'
/** Port the worker listens on inside the container. */
export const CONTAINER_PORT = 8080
/** uid:gid the worker runs as (nobody); the image has no passwd file, numbers are enough. */
export const CONTAINER_USER = '65534:65534'
const APP = 'app'
const NODE_TARGET = 'usr/local/bin/node'

export type ImageVariant = 'cpu' | 'cuda' | 'vulkan'

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

/** The node-llama-cpp prebuilt package(s) a variant carries; the other GPU prebuilts stay out. */
export function prebuiltPackages(variant: ImageVariant, arch = process.arch): string[] {
  const base = `@node-llama-cpp/linux-${arch}`
  if (variant === 'cuda') return [base, `${base}-cuda`, `${base}-cuda-ext`]
  if (variant === 'vulkan') return [base, `${base}-vulkan`]
  return [base]
}

// Not needed at run time: llama.cpp's source bundle (for building from source), typings, source maps.
function skipFile(rel: string): boolean {
  return rel.endsWith('/llama/gitRelease.bundle') || rel.endsWith('.d.ts') || rel.endsWith('.d.ts.map') || rel.endsWith('.js.map') || rel.endsWith('.d.mts') || rel.endsWith('.d.cts')
}

export function dockerfile(libraryDirs: string[]): string {
  return [
    'FROM scratch',
    'COPY rootfs/ /',
    `ENV PATH=/usr/local/bin LD_LIBRARY_PATH=${libraryDirs.join(':')} HOME=/tmp NODE_ENV=production NODE_LLAMA_CPP_SKIP_DOWNLOAD=true`,
    `WORKDIR /${APP}`,
    `USER ${CONTAINER_USER}`,
    `EXPOSE ${CONTAINER_PORT}`,
    `ENTRYPOINT ["/${NODE_TARGET}", "/${APP}/dist/worker/worker.js"]`,
    ''
  ].join('\n')
}

async function workerFiles(workerDir: string): Promise<SourceFile[]> {
  const files = await listFiles(workerDir, { rootDir: workerDir })
  return files.filter((f) => !f.target.endsWith('.map')).map((f) => ({ ...f, target: `dist/worker/${f.target}` }))
}

async function workerImports(files: SourceFile[]): Promise<string[]> {
  const names = new Set<string>()
  for (const file of files) {
    if (!/\.(m|c)?js$/.test(file.target)) continue
    for (const name of bareImports(await readFile(file.source, 'utf8'))) names.add(name)
  }
  return [...names]
}

const digestCache = new Map<string, string>()

async function fileDigest(file: { source: string; size: number; mtimeMs: number }): Promise<string> {
  const key = `${file.source}\0${file.size}\0${file.mtimeMs}`
  const cached = digestCache.get(key)
  if (cached) return cached
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file.source, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer)
  const digest = hash.digest('hex')
  digestCache.set(key, digest)
  return digest
}

function directoryEntries(files: string[]): TarEntry[] {
  const dirs = new Set<string>()
  for (const file of files) {
    for (let dir = posix.dirname(file); dir !== '.' && dir !== '/'; dir = posix.dirname(dir)) dirs.add(dir)
  }
  return [...dirs].sort().map((dir) => ({ name: `${dir}/`, mode: 0o755, size: 0 }))
}

/**
 * Everything the worker needs, from this machine: the Node binary, the shared libraries ldd lists for it
 * and for the llama prebuilt, the worker bundle, and the JS packages it imports (with their dependencies).
 * Models are not in the image: they are mounted read-only when a container starts.
 */
export async function workerImageRecipe(paths: WorkerPaths, variant: ImageVariant = 'cpu', options: { signal?: AbortSignal } = {}): Promise<WorkerImageRecipe> {
  if (process.platform !== 'linux') throw new Error('The worker image is built from this machine\'s Linux binaries; on other systems configure a registry image')
  const { rootDir, workerEntry, nodeBinary } = paths
  if (!existsSync(workerEntry)) throw new Error(`The worker bundle ${workerEntry} is missing: run \`npm run build\` first`)
  const workerDir = dirname(workerEntry)
  const wanted = new Set(prebuiltPackages(variant))
  const closureOptions = {
    rootDir,
    skipFile,
    skipPackage: (name: string) => name.startsWith('@node-llama-cpp/') && !wanted.has(name)
  }
  const worker = await workerFiles(workerDir)
  const packages = packageClosure([...(await workerImports(worker)), ...wanted], closureOptions)
  const moduleFiles: SourceFile[] = []
  for (const dir of packages) await listFiles(dir, closureOptions, moduleFiles)
  options.signal?.throwIfAborted()

  const native = moduleFiles.filter((f) => f.target.endsWith('.node') || /\.so(\.|$)/.test(f.target)).map((f) => f.source)
  const libs = await sharedLibraries([nodeBinary, ...native], options)
  const nodeInfo = await stat(nodeBinary)
  const files: Array<SourceFile> = [
    { source: nodeBinary, target: NODE_TARGET, size: nodeInfo.size, mode: 0o755, mtimeMs: nodeInfo.mtimeMs },
    ...worker.map((f) => ({ ...f, target: `${APP}/${f.target}` })),
    ...moduleFiles.map((f) => ({ ...f, target: `${APP}/${f.target}` }))
  ]
  const libraryDirs = new Set<string>()
  for (const lib of libs.paths) {
    if (lib.startsWith(rootDir + '/')) continue // part of a package copied above
    const info = await stat(lib)
    files.push({ source: lib, target: lib.slice(1), size: info.size, mode: 0o755, mtimeMs: info.mtimeMs })
    libraryDirs.add(posix.dirname(lib))
  }
  // the loader's own default path is not enough in an image without ld.so.cache
  const text = dockerfile([...libraryDirs].sort())

  files.sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0))
  const hash = createHash('sha256')
  hash.update(`meshwork-worker-recipe:${RECIPE_VERSION}:${variant}\n${text}`)
  for (const file of files) {
    options.signal?.throwIfAborted()
    const mode = file.mode & 0o111 ? 0o755 : 0o644
    hash.update(`${file.target}\0${mode}\0${await fileDigest(file)}\n`)
  }
  const digest = hash.digest('hex')

  const targets = files.map((f) => `rootfs/${f.target}`)
  const entries: TarEntry[] = [
    { name: 'Dockerfile', mode: 0o644, size: Buffer.byteLength(text), content: Buffer.from(text) },
    { name: 'rootfs/', mode: 0o755, size: 0 },
    { name: 'rootfs/tmp/', mode: 0o1777, size: 0 },
    ...directoryEntries(targets).filter((e) => e.name !== 'rootfs/'),
    ...files.map((f) => ({ name: `rootfs/${f.target}`, mode: f.mode & 0o111 ? 0o755 : 0o644, size: f.size, source: f.source }))
  ]
  return {
    tag: `${IMAGE_REPOSITORY}:${digest.slice(0, 20)}`,
    hash: digest,
    variant,
    entries,
    bytes: files.reduce((sum, f) => sum + f.size, 0),
    missingLibraries: libs.missing
  }
}
