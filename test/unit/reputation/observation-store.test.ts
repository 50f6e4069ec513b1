import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { ObservationStore } from '../../../electron/core/reputation/observation-store'
import { bundle } from '../../helpers/runtime'

const dirs: string[] = []
function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mw-rep-'))
  dirs.push(dir)
  return join(dir, 'reputation.sqlite')
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('observation store', () => {
  it('keeps observations and reports across a reopen', () => {
    const path = tempDb()
    const a = new ObservationStore(path)
    a.record({ peer: 'p1', at: 1000, kind: 'ok', weight: 1, ttftMs: 40, tokensPerSecond: 120 })
    a.record({ peer: 'p1', at: 2000, kind: 'challenge', verdict: 'mismatch', weight: -5, detail: 'differs at token 0' })
    a.putReport('r1', 3, 2500, [{ peer: 'p1', positive: 1, negative: 2, caught: true }])
    a.close()
    const b = new ObservationStore(path)
    expect(b.observations()).toEqual([
      { peer: 'p1', at: 1000, kind: 'ok', weight: 1, ttftMs: 40, tokensPerSecond: 120 },
      { peer: 'p1', at: 2000, kind: 'challenge', verdict: 'mismatch', weight: -5, detail: 'differs at token 0' }
    ])
    expect(b.reporterSeqs().get('r1')).toBe(3)
    expect(b.reports()).toEqual([{ reporter: 'r1', peer: 'p1', at: 2500, positive: 1, negative: 2, caught: true }])
    b.close()
  })

  it('replaces a reporter’s previous summary instead of piling up', () => {
    const s = new ObservationStore(tempDb())
    s.putReport('r1', 1, 10, [
      { peer: 'a', positive: 1, negative: 0 },
      { peer: 'b', positive: 1, negative: 0 }
    ])
    s.putReport('r1', 2, 20, [{ peer: 'c', positive: 0, negative: 1 }])
    expect(s.reports().map((r) => r.peer)).toEqual(['c'])
    s.close()
  })

  it('is bounded: rows per peer, peers in total, reporters, and old evidence', () => {
    const s = new ObservationStore(tempDb(), { rowsPerPeer: 5, maxPeers: 3, maxReporters: 2, maxAgeMs: 10_000 })
    for (let i = 0; i < 20; i++) s.record({ peer: 'busy', at: 100_000 + i, kind: 'ok', weight: 1 })
    for (let p = 0; p < 6; p++) s.record({ peer: `p${p}`, at: 100_000 + 100 * p, kind: 'ok', weight: 1 })
    s.record({ peer: 'ancient', at: 1, kind: 'ok', weight: 1 })
    for (let r = 0; r < 4; r++) s.putReport(`r${r}`, 1, 100_000 + r, [{ peer: 'x', positive: 1, negative: 0 }])
    s.compact(100_500)
    const counts = s.counts()
    expect(counts.peers).toBe(3)
    expect(counts.observations).toBeLessThanOrEqual(15)
    expect(s.observations().some((o) => o.peer === 'ancient')).toBe(false)
    // the newest evidence survives
    expect(new Set(s.observations().map((o) => o.peer))).toEqual(new Set(['p5', 'p4', 'p3']))
    expect([...s.reporterSeqs().keys()].sort()).toEqual(['r2', 'r3'])
    expect(counts.reports).toBe(2)
    s.close()
  })

  it(
    'loses no committed observation when the writer is killed with SIGKILL mid-stream',
    { timeout: 60_000 },
    async () => {
      const path = tempDb()
      // bundled: the store imports other modules of the project, which Node cannot load from .ts alone
      const store = pathToFileURL(
        await bundle('electron/core/reputation/observation-store.ts', 'observation-store/store.js')
      ).href
      const script = `
      const { ObservationStore } = await import(${JSON.stringify(store)})
      const s = new ObservationStore(${JSON.stringify(path)})
      for (let i = 0; ; i++) {
        s.record({ peer: 'p' + (i % 7), at: Date.now(), kind: 'ok', weight: 1, detail: String(i) })
        process.stdout.write(i + '\\n')
      }`
      const child = spawn(process.execPath, ['--input-type=module', '--no-warnings', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit']
      })
      const guard = setTimeout(() => child.kill('SIGKILL'), 50_000)
      let lastCommitted = -1
      let buffer = ''
      await new Promise<void>((done) => {
        child.stdout.on('data', (chunk: Buffer) => {
          buffer += chunk.toString()
          const lines = buffer.split('\n')
          buffer = lines.pop() ?? ''
          if (lines.length > 0) lastCommitted = Number(lines.at(-1))
          if (lastCommitted >= 100 && child.exitCode === null && !child.killed) child.kill('SIGKILL')
        })
        child.on('exit', () => done())
      })
      clearTimeout(guard)
      expect(lastCommitted).toBeGreaterThanOrEqual(100)
      const s = new ObservationStore(path)
      const details = new Set(s.observations().map((o) => Number(o.detail)))
      for (let i = 0; i <= lastCommitted; i++) expect(details.has(i)).toBe(true)
      s.close()
    }
  )
})
