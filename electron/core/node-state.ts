import { readFileSync } from 'node:fs'
import { rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'

/** Choices that must survive a restart (the tray's pause toggle). */
const StateSchema = z.object({ paused: z.boolean().default(false) })
export type NodeState = z.infer<typeof StateSchema>

export function readState(dataDir: string): NodeState {
  try {
    const text = readFileSync(join(dataDir, 'state.json'), 'utf8')
    return StateSchema.parse(JSON.parse(text.slice(0, 64 * 1024)))
  } catch {
    return { paused: false }
  }
}

export async function writeState(dataDir: string, state: NodeState): Promise<void> {
  const path = join(dataDir, 'state.json')
  await writeFile(`${path}.tmp`, JSON.stringify(state), { mode: 0o600 })
  await rename(`${path}.tmp`, path)
}
