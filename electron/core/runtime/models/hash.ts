import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readFile, rename, stat, writeFile } from 'node:fs/promises'
import { z } from 'zod'

/** sha256 of a file, streamed. */
export async function sha256File(path: string, options: { signal?: AbortSignal } = {}): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { signal: options.signal })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

const SidecarSchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  mtimeMs: z.number(),
  params: z.number().int().nonnegative().optional(),
  contextLength: z.number().int().positive().optional(),
  fingerprint: z.string().max(4096).optional()
})
export type Sidecar = z.infer<typeof SidecarSchema>

export const sidecarPath = (path: string): string => `${path}.meta.json`

/**
 * The cached facts about a file, if the file is still the one they were computed for (same size
 * and mtime). `cachePath` defaults to a `.meta.json` next to the file.
 */
export async function readSidecar(path: string, cachePath = sidecarPath(path)): Promise<Sidecar | undefined> {
  try {
    const [raw, info] = await Promise.all([readFile(cachePath, 'utf8'), stat(path)])
    if (raw.length > 64 * 1024) return undefined
    const parsed = SidecarSchema.safeParse(JSON.parse(raw))
    if (!parsed.success) return undefined
    if (parsed.data.size !== info.size || parsed.data.mtimeMs !== info.mtimeMs) return undefined
    return parsed.data
  } catch {
    return undefined
  }
}

export async function writeSidecar(
  path: string,
  facts: Omit<Sidecar, 'size' | 'mtimeMs'>,
  cachePath = sidecarPath(path)
): Promise<Sidecar> {
  const info = await stat(path)
  const sidecar: Sidecar = { ...facts, size: info.size, mtimeMs: info.mtimeMs }
  const tmp = `${cachePath}.${process.pid}.tmp`
  await writeFile(tmp, JSON.stringify(sidecar))
  await rename(tmp, cachePath)
  return sidecar
}
