import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Signer } from '../../../electron/core/earnings/keys'
import { Ledger } from '../../../electron/core/earnings/ledger'
import { verifyLedger } from '../../../electron/core/earnings/ledger-verify'
import { countersign, issueReceipt } from '../../../electron/core/earnings/receipts'
import { bothSigned, draft, newSigner, tempDir } from './fixtures'

let me: Signer
let peer: Signer
let other: Signer
let dir: ReturnType<typeof tempDir>
let path: string

beforeAll(async () => {
  ;[me, peer, other] = await Promise.all([newSigner(), newSigner(), newSigner()])
})
beforeEach(() => {
  dir = tempDir()
  path = join(dir.dir, 'ledger.sqlite')
})
afterEach(() => dir.cleanup())

/** A ledger of five receipts: earned, spent, earned-then-countersigned. */
function filled(): Ledger {
  const ledger = Ledger.open(path, me)
  ledger.append('receipt', 'earned', bothSigned(me, peer, { jobId: 'a' }))
  ledger.append('receipt', 'spent', bothSigned(peer, me, { jobId: 'b' }))
  const first = issueReceipt(me, 'provider', draft(me, other, { jobId: 'c' }))
  ledger.append('receipt', 'earned', first)
  ledger.append('countersign', 'earned', countersign(other, first))
  ledger.append('receipt', 'earned', bothSigned(me, other, { jobId: 'd', completionTokens: 5 }))
  return ledger
}

/** What an attacker with the file can do: drop the append-only triggers, then change rows. */
function tamper(sql: string): void {
  const db = new DatabaseSync(path)
  db.exec('DROP TRIGGER entries_no_update; DROP TRIGGER entries_no_delete;')
  db.exec(sql)
  db.close()
}

function problemsAfter(sql: string): string[] {
  filled().close()
  tamper(sql)
  const ledger = Ledger.openReadOnly(path)
  try {
    return verifyLedger(ledger).problems.map((p) => `${p.seq}: ${p.problem}`)
  } finally {
    ledger.close()
  }
}

describe('ledger', () => {
  it('a clean ledger verifies: chain, columns, every signature and the signed head', () => {
    const ledger = filled()
    const report = verifyLedger(ledger, { expectedOwner: me.peerId })
    expect(report).toMatchObject({ ok: true, entries: 5, receipts: 4, problems: [] })
    // 4 receipts × 2 signatures, minus the one first recorded unsigned by its consumer, + 2 on the countersign row + head
    expect(report.signaturesChecked).toBe(10)
    ledger.close()
  })

  it('refuses in-place updates and deletes (append-only)', () => {
    const ledger = filled()
    expect(() => ledger.db.exec('UPDATE entries SET completion_tokens = 1 WHERE seq = 1')).toThrow(/append-only/)
    expect(() => ledger.db.exec('DELETE FROM entries WHERE seq = 5')).toThrow(/append-only/)
    ledger.close()
  })

  it('detects an edited column', () => {
    expect(problemsAfter('UPDATE entries SET completion_tokens = 4000 WHERE seq = 2')).toEqual([
      '2: column completion_tokens does not match the signed receipt'
    ])
  })

  it('detects an edited body even with the signature-free columns kept consistent', () => {
    const problems = problemsAfter(
      `UPDATE entries SET body = replace(body, '"completionTokens":40', '"completionTokens":400'), completion_tokens = 400 WHERE seq = 1`
    )
    expect(problems).toContain('1: its content does not match its hash (edited)')
    expect(problems).toContain('1: the provider signature does not verify')
  })

  it('detects a deleted row in the middle', () => {
    expect(problemsAfter('DELETE FROM entries WHERE seq = 2')).toEqual(
      expect.arrayContaining([
        '3: expected entry 2 here: entries are missing',
        '3: does not link to the entry before it (deleted, inserted or reordered)'
      ])
    )
  })

  it('detects a deleted last row through the signed head', () => {
    expect(problemsAfter('DELETE FROM entries WHERE seq = 5')).toEqual([
      '5: the signed head names entry 5, but the chain ends at 4 (entries removed or added at the end)'
    ])
  })

  it('detects reordered rows', () => {
    const problems = problemsAfter(
      'UPDATE entries SET seq = 100 WHERE seq = 1; UPDATE entries SET seq = 1 WHERE seq = 2; UPDATE entries SET seq = 2 WHERE seq = 100;'
    )
    expect(problems).toContain('1: does not link to the entry before it (deleted, inserted or reordered)')
    expect(problems).toContain('1: its content does not match its hash (edited)')
  })

  it('detects a forged head and a wrong owner', () => {
    expect(problemsAfter(`UPDATE head SET signature = '${'0'.repeat(128)}'`)).toEqual([
      '5: the chain head is not signed by the owner'
    ])
    filled().close()
    const ledger = Ledger.openReadOnly(path)
    expect(verifyLedger(ledger, { expectedOwner: peer.peerId }).problems[0].problem).toMatch(/names .* as owner/)
    ledger.close()
  })

  it('rejects a role that does not fit the receipt (inflated earnings)', () => {
    const ledger = Ledger.open(path, me)
    ledger.append('receipt', 'earned', bothSigned(peer, other)) // someone else's receipt, claimed as earned
    expect(verifyLedger(ledger).problems.map((p) => p.problem)).toEqual([
      'recorded as earned, but not provided by this node for another peer'
    ])
    ledger.close()
  })

  it('records a receipt once and countersigns only known receipts', () => {
    const ledger = Ledger.open(path, me)
    const signed = bothSigned(me, peer)
    ledger.append('receipt', 'earned', signed)
    expect(() => ledger.append('receipt', 'earned', signed)).toThrow(/already recorded/)
    expect(() => ledger.append('countersign', 'earned', bothSigned(me, peer))).toThrow(/not in the ledger/)
    expect(verifyLedger(ledger).ok).toBe(true)
    ledger.close()
  })

  it('verifies one snapshot while the node appends (a receipt landing mid-walk is not a broken head)', () => {
    const writer = filled()
    const reader = Ledger.openReadOnly(path)
    // the node commits a receipt after the walk has read the rows, before it reads the head
    const readHead = reader.head.bind(reader)
    reader.head = () => {
      writer.append('receipt', 'earned', bothSigned(me, peer, { jobId: 'late' }))
      return readHead()
    }
    expect(verifyLedger(reader)).toMatchObject({ ok: true, entries: 5 })
    reader.head = readHead
    expect(verifyLedger(reader)).toMatchObject({ ok: true, entries: 6 })
    reader.close()
    writer.close()
  })

  it('belongs to one node: another key cannot open it for writing', () => {
    Ledger.open(path, me).close()
    expect(() => Ledger.open(path, peer)).toThrow(/belongs to/)
  })
})
