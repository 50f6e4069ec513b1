import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type EarningsResponse, EarningsResponseSchema } from '../../shared/earnings'
import { readApiFile } from '../core/api-file'
import { loadConfig } from '../core/config'
import { LEDGER_FILE, Ledger } from '../core/earnings/ledger'
import { allReceipts, earningsSummary } from '../core/earnings/ledger-queries'
import { verifyLedger } from '../core/earnings/ledger-verify'
import { readState } from '../core/node-state'
import { callNode } from './client'
import { formatCsv, formatEarnings, formatVerify } from './earnings-format'

export interface EarningsOptions {
  json: boolean
  csv: boolean
  verify: boolean
}

/** The peer id of the data dir's key, so a ledger swapped in from elsewhere is caught. */
function ownerOf(dataDir: string): string | undefined {
  const path = join(dataDir, 'peer-key')
  return existsSync(path) ? peerIdFromPrivateKey(privateKeyFromProtobuf(readFileSync(path))).toString() : undefined
}

function withLedger<T>(dataDir: string, fn: (ledger: Ledger) => T): T {
  const ledger = Ledger.openReadOnly(join(dataDir, LEDGER_FILE))
  try {
    return fn(ledger)
  } finally {
    ledger.close()
  }
}

/** The running node's answer, or the ledger file itself when no node runs. */
async function summary(dataDir: string): Promise<EarningsResponse> {
  if (existsSync(join(dataDir, 'api.json'))) {
    const answer = await callNode(await readApiFile(dataDir), 'GET', '/api/earnings').catch(() => undefined)
    if (answer !== undefined) return EarningsResponseSchema.parse(answer)
  }
  const unit = (() => {
    try {
      return loadConfig({ dataDir }).priceUnit
    } catch {
      return 'credits'
    }
  })()
  return withLedger(dataDir, (ledger) => earningsSummary(ledger, {}, { unit, paused: readState(dataDir).paused }))
}

/** `meshwork earnings [--json | --csv | --verify]`; a failed verification exits non-zero. */
export async function earningsCommand(dataDir: string, options: EarningsOptions): Promise<void> {
  const out = (text: string): boolean => process.stdout.write(text + '\n')
  if (options.verify) {
    const path = join(dataDir, LEDGER_FILE)
    const report = withLedger(dataDir, (ledger) => verifyLedger(ledger, { expectedOwner: ownerOf(dataDir) }))
    out(options.json ? JSON.stringify(report, null, 2) : formatVerify(report, path))
    if (!report.ok) process.exitCode = 2
    return
  }
  if (options.csv) {
    out(withLedger(dataDir, (ledger) => formatCsv(allReceipts(ledger))))
    return
  }
  const result = await summary(dataDir)
  out(options.json ? JSON.stringify(result, null, 2) : formatEarnings(result))
}
