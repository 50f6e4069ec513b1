import { join } from 'node:path'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { earningsCommand } from '../../../electron/cli/earnings-command'
import { formatCsv } from '../../../electron/cli/earnings-format'
import type { Signer } from '../../../electron/core/earnings/keys'
import { LEDGER_FILE, Ledger } from '../../../electron/core/earnings/ledger'
import { allReceipts } from '../../../electron/core/earnings/ledger-queries'
import { bothSigned, newSigner, tempDir } from './fixtures'

let me: Signer
let peer: Signer
let dir: ReturnType<typeof tempDir>

beforeAll(async () => {
  ;[me, peer] = await Promise.all([newSigner(), newSigner()])
})
beforeEach(() => {
  dir = tempDir()
  const ledger = Ledger.open(join(dir.dir, LEDGER_FILE), me)
  ledger.append('receipt', 'earned', bothSigned(me, peer, { jobId: 'a,"quoted"' }))
  ledger.append('receipt', 'spent', bothSigned(peer, me, { jobId: 'b', model: 'other-model' }))
  ledger.close()
})
afterEach(() => dir.cleanup())

async function run(options: { json?: boolean; csv?: boolean; verify?: boolean }): Promise<string> {
  let out = ''
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true))
  try {
    await earningsCommand(dir.dir, { json: false, csv: false, verify: false, ...options })
  } finally {
    write.mockRestore()
  }
  return out
}

describe('meshwork earnings', () => {
  it('without a running node reads the ledger: a table, or JSON in the API shape', async () => {
    const table = await run({})
    expect(table).toMatch(/Earned\s+1 jobs\s+12 prompt \+ 40 completion tokens\s+0\.000086 credits/)
    expect(table).toMatch(/Spent\s+1 jobs/)
    expect(table).toContain('other-model')
    const json = JSON.parse(await run({ json: true }))
    expect(json.earned).toEqual({ jobs: 1, promptTokens: 12, completionTokens: 40, amount: 0.000086 })
    expect(json.byPeer).toHaveLength(1)
  })

  it('--csv exports every receipt, quoting what needs it', async () => {
    const lines = (await run({ csv: true })).trim().split('\n')
    expect(lines[0]).toMatch(/^seq,role,receipt_id,job_id,ended_at,/)
    expect(lines).toHaveLength(3)
    expect(lines[1]).toContain('"a,""quoted"""')
    expect(lines[1]).toMatch(/,true,true$/)
  })

  it('--verify says OK, or lists the problems and sets a failing exit code', async () => {
    expect(await run({ verify: true })).toMatch(/^OK: .*\n2 entries, 2 receipts, 5 signatures checked/)
    const ledger = Ledger.openReadOnly(join(dir.dir, LEDGER_FILE))
    expect(formatCsv(allReceipts(ledger)).split('\n')).toHaveLength(3)
    ledger.close()
    const { DatabaseSync } = await import('node:sqlite')
    const db = new DatabaseSync(join(dir.dir, LEDGER_FILE))
    db.exec('DROP TRIGGER entries_no_delete; DELETE FROM entries WHERE seq = 1')
    db.close()
    const before = process.exitCode
    try {
      expect(await run({ verify: true })).toMatch(/^FAILED: [\s\S]*entry 2: expected entry 1 here/)
      expect(process.exitCode).toBe(2)
    } finally {
      process.exitCode = before
    }
  })
})
