import { existsSync, readFileSync } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { isBuiltin } from 'node:module'
import { dirname, join, relative, sep } from 'node:path'

/** A file to place in the image: its path on this machine and its path relative to the app root. */
export interface SourceFile {
  source: string
  target: string
  size: number
  mode: number
  mtimeMs: number
  /** With mtime and inode, makes a cheap "has this file changed" key (npm pins package mtimes). */
  ctimeMs: number
  ino: number
}

export interface ClosureOptions {
  /** Directory holding node_modules; packages are placed at the same relative path in the image. */
  rootDir: string
  /** Leave out a package (by name), e.g. the GPU prebuilts the image does not need. */
  skipPackage?: (name: string) => boolean
  /** Leave out a file (relative to the root, forward slashes). */
  skipFile?: (relPath: string) => boolean
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)["']([^"'\s]+)["']/g

/** Bare package names a bundled JS file imports (node: builtins and relative paths left out). */
export function bareImports(code: string): string[] {
  const names = new Set<string>()
  for (const match of code.matchAll(SPECIFIER)) {
    const spec = match[1]
    if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:') || isBuiltin(spec)) continue
    const parts = spec.split('/')
    names.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0])
  }
  return [...names].sort()
}

interface PackageJson {
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
}

/** Node's lookup: <from>/node_modules/<name>, then each parent's, up to the root. */
function resolvePackage(name: string, fromDir: string, rootDir: string): string | undefined {
  let dir = fromDir
  for (;;) {
    const candidate = join(dir, 'node_modules', name)
    if (existsSync(join(candidate, 'package.json'))) return candidate
    if (dir === rootDir || !dir.startsWith(rootDir)) return undefined
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

/** Package directories needed at run time by `imports`, following dependencies and installed optional ones. */
export function packageClosure(imports: string[], options: ClosureOptions): string[] {
  const { rootDir, skipPackage } = options
  const found = new Set<string>()
  const queue: Array<{ name: string; from: string; optional: boolean }> = imports.map((name) => ({
    name,
    from: rootDir,
    optional: false
  }))
  while (queue.length > 0) {
    const { name, from, optional } = queue.shift()!
    if (skipPackage?.(name)) continue
    const dir = resolvePackage(name, from, rootDir)
    if (dir === undefined) {
      if (optional) continue
      throw new Error(
        `Package '${name}' (needed by ${relative(rootDir, from) || 'the worker'}) is not installed under ${rootDir}`
      )
    }
    if (found.has(dir)) continue
    found.add(dir)
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson
    for (const dep of Object.keys(pkg.dependencies ?? {})) queue.push({ name: dep, from: dir, optional: false })
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) queue.push({ name: dep, from: dir, optional: true })
  }
  return [...found].sort()
}

/** Every file below `dir` (following symlinks), without nested node_modules (resolved as packages). */
export async function listFiles(dir: string, options: ClosureOptions, out: SourceFile[] = []): Promise<SourceFile[]> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === '.bin') continue
    const source = join(dir, entry.name)
    const target = relative(options.rootDir, source).split(sep).join('/')
    if (options.skipFile?.(target)) continue
    const info = await stat(source).catch(() => undefined)
    if (info === undefined) continue // broken symlink
    if (info.isDirectory()) await listFiles(source, options, out)
    else if (info.isFile())
      out.push({
        source,
        target,
        size: info.size,
        mode: info.mode,
        mtimeMs: info.mtimeMs,
        ctimeMs: info.ctimeMs,
        ino: info.ino
      })
  }
  return out
}
