// Ledger bench: what recording a served job costs the provider on its request path (a signed receipt
// appended and the head re-signed, in one transaction flushed to disk; the final frame waits for it),
// beside the floor this disk sets: a bare one-row SQLite commit with the same settings, in the same run.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { Ledger } from '../../electron/core/earnings/ledger'
import { issueReceipt } from '../../electron/core/earnings/receipts'
import { draft, newSigner } from '../../test/unit/earnings/fixtures'
import { type BenchContext, type Measured, quantile, round } from './stats'

const RUNS = 400
const WARMUP = 50

function timed(runs: number, once: (i: number) => void): number[] {
  const ms: number[] = []
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    once(i)
    if (i >= WARMUP) ms.push(performance.now() - started)
  }
  return ms
}

export async function ledgerBench(ctx: BenchContext): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-bench-ledger-'))
  try {
    const signer = await newSigner()
    const consumer = await newSigner()
    const ledger = Ledger.open(join(dir, 'ledger.sqlite'), signer)
    const floorDb = new DatabaseSync(join(dir, 'floor.sqlite'))
    floorDb.exec(
      'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)'
    )
    const insert = floorDb.prepare('INSERT INTO t (body) VALUES (?)')
    const body = 'x'.repeat(900) // about a signed receipt's size
    // alternated, so both see the same disk and the same neighbours
    const settle: number[] = []
    const floor: number[] = []
    for (let pass = 0; pass < 4; pass++) {
      settle.push(
        ...timed(RUNS / 4 + WARMUP, (i) => {
          const receipt = issueReceipt(
            signer,
            'provider',
            draft(signer, consumer, { jobId: `bench-${pass}-${i}`, endedAt: Date.now() })
          )
          ledger.append('receipt', 'earned', receipt)
        })
      )
      floor.push(
        ...timed(RUNS / 4 + WARMUP, () => {
          floorDb.exec('BEGIN IMMEDIATE')
          insert.run(body)
          floorDb.exec('COMMIT')
        })
      )
    }
    ledger.close()
    floorDb.close()
    const out: Measured = {
      'ledger.settleP50Ms': round(quantile(settle, 0.5), 3),
      'ledger.settleP90Ms': round(quantile(settle, 0.9), 3),
      'ledger.commitFloorP50Ms': round(quantile(floor, 0.5), 3),
      'ledger.commitFloorP90Ms': round(quantile(floor, 0.9), 3)
    }
    ctx.log(
      `a served job's receipt, signed and appended: p50 ${out['ledger.settleP50Ms']} ms, p90 ${out['ledger.settleP90Ms']} ms; ` +
        `a bare one-row commit flushed inside COMMIT (synchronous = FULL), as the ledger did before: p50 ${out['ledger.commitFloorP50Ms']} ms, p90 ${out['ledger.commitFloorP90Ms']} ms`
    )
    return out
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
