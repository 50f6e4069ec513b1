import { spawn } from 'node:child_process'
import { build } from 'esbuild'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LEDGER_FILE, Ledger } from '../../electron/core/earnings/ledger'
import { verifyLedger } from '../../electron/core/earnings/ledger-verify'

// bundled next to node_modules so the child resolves its packages like the app does
const WRITER = resolve(import.meta.dirname, '../../node_modules/.cache/meshwork-tests/ledger-writer.mjs')
const dataDir = mkdtempSync(join(tmpdir(), 'meshwork-crash-'))

beforeAll(async () => {
  mkdirSync(resolve(WRITER, '..'), { recursive: true })
  await build({
    entryPoints: [resolve(import.meta.dirname, 'earnings/ledger-writer.ts')],
    outfile: WRITER,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'error'
  })
})
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

/** Runs the writer until it has committed `atLeast` entries, then SIGKILLs it; returns what it reported committed. */
async function burstAndKill(atLeast: number): Promise<Array<{ seq: number; id: string }>> {
  const child = spawn(process.execPath, [WRITER, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
  const committed: Array<{ seq: number; id: string }> = []
  let buffer = ''
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<NodeJS.Signals | null>((resolveExit) =>
    child.on('exit', (_code, signal) => resolveExit(signal))
  )
  await new Promise<void>((resolveKill, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the writer committed only ${committed.length} entries in 30 s: ${stderr}`)),
      30_000
    )
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString()
      const lines = buffer.split('\n')
      buffer = lines.pop() ?? ''
      for (const line of lines) {
        const [seq, id] = line.split(' ')
        committed.push({ seq: Number(seq), id })
      }
      if (committed.length >= atLeast && !child.killed) {
        child.kill('SIGKILL')
        clearTimeout(timer)
        resolveKill()
      }
    })
    child.on('exit', () => {
      clearTimeout(timer)
      if (!child.killed) reject(new Error(`the writer exited by itself: ${stderr}`))
    })
  })
  expect(await exited).toBe('SIGKILL')
  return committed
}

describe('ledger under kill -9', () => {
  it('keeps every committed receipt and a valid chain across repeated SIGKILLs mid-burst', async () => {
    const seen: Array<{ seq: number; id: string }> = []
    for (const atLeast of [40, 97, 230, 61, 25, 150, 13, 77, 120, 33]) {
      seen.push(...(await burstAndKill(atLeast)))
      const ledger = Ledger.openReadOnly(join(dataDir, LEDGER_FILE))
      try {
        const report = verifyLedger(ledger)
        expect(report.problems).toEqual([])
        expect(report.ok).toBe(true)
        // the writer may have committed more after its last line was read, never fewer
        expect(ledger.head()?.seq ?? 0).toBeGreaterThanOrEqual(seen.at(-1)?.seq ?? 0)
        for (const { id } of seen) expect(ledger.hasReceipt(id)).toBe(true)
      } finally {
        ledger.close()
      }
    }
    expect(seen.length).toBeGreaterThanOrEqual(600)
  })
})
