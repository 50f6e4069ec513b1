import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { z } from 'zod'

export interface FileStamp {
  source: string
  size: number
  mtimeMs: number
  ctimeMs: number
  ino: number
}

const CacheSchema = z.record(z.string().max(4096), z.string().max(1 << 16))
const MAX_CACHE_BYTES = 16 << 20
const memory = new Map<string, string>()

export const keyOf = (f: FileStamp): string => `${f.source}|${f.size}|${f.mtimeMs}|${f.ctimeMs}|${f.ino}`

/**
 * sha256 of files, remembered by path + size + times + inode (in memory, and in `cachePath` when given)
 * so that an unchanged install is not re-read on every start.
 */
export class FileDigests {
  private readonly entries = new Map<string, string>()
  private dirty = false

  private constructor(private readonly cachePath?: string) {}

  static async open(cachePath?: string): Promise<FileDigests> {
    const digests = new FileDigests(cachePath)
    if (cachePath) {
      try {
        const text = await readFile(cachePath, 'utf8')
        if (text.length <= MAX_CACHE_BYTES) {
          const parsed = CacheSchema.safeParse(JSON.parse(text))
          if (parsed.success) for (const [k, v] of Object.entries(parsed.data)) digests.entries.set(k, v)
        }
      } catch {
        /* no cache yet, or unreadable: recompute */
      }
    }
    return digests
  }

  async digest(file: FileStamp): Promise<string> {
    const key = keyOf(file)
    const known = this.entries.get(key) ?? memory.get(key)
    if (known) {
      this.entries.set(key, known)
      return known
    }
    const hash = createHash('sha256')
    for await (const chunk of createReadStream(file.source, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer)
    const value = hash.digest('hex')
    this.entries.set(key, value)
    memory.set(key, value)
    this.dirty = true
    return value
  }

  /** Any other value derived from files (e.g. what ldd said), under a key built from their stamps. */
  async remember(key: string, compute: () => Promise<string>): Promise<string> {
    const known = this.entries.get(key) ?? memory.get(key)
    if (known !== undefined) {
      this.entries.set(key, known)
      return known
    }
    const value = await compute()
    this.entries.set(key, value)
    memory.set(key, value)
    this.dirty = true
    return value
  }

  /** Writes the entries used this time (so stale ones drop out), atomically. */
  async save(used: FileStamp[], extraKeys: string[] = []): Promise<void> {
    if (!this.cachePath || !this.dirty) return
    const out: Record<string, string> = {}
    for (const key of [...used.map(keyOf), ...extraKeys]) {
      const value = this.entries.get(key)
      if (value) out[key] = value
    }
    await mkdir(dirname(this.cachePath), { recursive: true })
    const temp = `${this.cachePath}.${process.pid}.tmp`
    await writeFile(temp, JSON.stringify(out))
    await rename(temp, this.cachePath)
  }
}
