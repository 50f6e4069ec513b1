import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { MeshworkError } from '../../util/errors'

const run = promisify(execFile)

export class SharedLibraryError extends MeshworkError {
  constructor(message: string) {
    super(message, 'worker_image_libraries', 500)
    this.name = 'SharedLibraryError'
  }
}

/** Parses `ldd` output into absolute library paths; names it could not find are returned apart. */
export function parseLdd(output: string): { paths: string[]; missing: string[] } {
  const paths: string[] = []
  const missing: string[] = []
  for (const raw of output.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('linux-vdso') || line.startsWith('statically linked')) continue
    const arrow = /^(\S+)\s+=>\s+(\S+)/.exec(line)
    if (arrow) {
      if (arrow[2] === 'not') missing.push(arrow[1])
      else if (arrow[2].startsWith('/')) paths.push(arrow[2])
      continue
    }
    const direct = /^(\/\S+)\s+\(0x/.exec(line)
    if (direct) paths.push(direct[1])
  }
  return { paths, missing }
}

/** The shared libraries (with the dynamic loader) that `files` need, as ldd resolves them on this machine. */
export async function sharedLibraries(
  files: string[],
  options: { signal?: AbortSignal } = {}
): Promise<{ paths: string[]; missing: string[] }> {
  if (files.length === 0) return { paths: [], missing: [] }
  let stdout: string
  try {
    // one ldd for all files: it prints a section per file
    ;({ stdout } = await run('ldd', files, { signal: options.signal, maxBuffer: 8 << 20 }))
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string }
    if (e.code === 'ENOENT')
      throw new SharedLibraryError(
        "`ldd` was not found; the worker image is built from this machine's libraries (install libc-bin)"
      )
    if (options.signal?.aborted) throw err
    // ldd exits 1 when one of the files is not a dynamic executable; the others are still listed
    stdout = e.stdout ?? ''
  }
  const parsed = parseLdd(stdout)
  return { paths: [...new Set(parsed.paths)].sort(), missing: [...new Set(parsed.missing)].sort() }
}
