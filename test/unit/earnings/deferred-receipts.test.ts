import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EarningsService } from '../../../electron/core/earnings/earnings-service'
import { LEDGER_FILE, Ledger } from '../../../electron/core/earnings/ledger'
import { createLogger } from '../../../electron/core/util/logger'
import { tempDir } from './fixtures'

const PRICE = { perMillionTokens: 0, currency: 'credits', models: {} }
const SHA = 'e'.repeat(64)
const dirs: Array<ReturnType<typeof tempDir>> = []
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup()
})

async function started(): Promise<{ earnings: EarningsService; peerId: string; entries: () => number }> {
  const dir = tempDir()
  dirs.push(dir)
  const key = await generateKeyPair('Ed25519')
  const earnings = new EarningsService(
    {},
    {
      dataDir: dir.dir,
      privateKey: key,
      price: () => PRICE,
      isPaused: () => false,
      advertOf: () => undefined,
      logger: createLogger('test', { level: 'error' })
    }
  )
  await earnings.start()
  // what is on disk, read through a connection of its own (as the CLI reads a running node's ledger)
  const entries = (): number => {
    const reader = Ledger.openReadOnly(join(dir.dir, LEDGER_FILE))
    try {
      return (reader.db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n
    } finally {
      reader.close()
    }
  }
  return { earnings, peerId: peerIdFromPrivateKey(key).toString(), entries }
}

const consumer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
const served = (jobId: string) => ({
  jobId,
  consumer,
  model: 'meshwork-tiny',
  sha256: SHA,
  promptTokens: 4,
  completionTokens: 1,
  startedAt: Date.now() - 5,
  endedAt: Date.now()
})
/** An attempt this node's own runtime served (recorded as "served for you", no network needed). */
const ownAttempt = (requestId: string, provider: string) => ({
  requestId,
  provider,
  local: true,
  model: 'meshwork-tiny',
  sha256: SHA,
  kind: 'ok',
  tokens: 3,
  promptTokens: 4,
  ms: 5,
  final: { usage: { prompt_tokens: 4, completion_tokens: 3 } }
})

describe('the router records an attempt after the answer, not before it', () => {
  it('a settled attempt is not written on the way to the client, and is written right after', async () => {
    const { earnings, peerId, entries } = await started()
    try {
      earnings.attemptSettled(ownAttempt('job-a', peerId))
      expect(entries()).toBe(0) // no disk flush before the client's last byte
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(entries()).toBe(1)
    } finally {
      await earnings.stop()
    }
  })

  it('an attempt settled right before stopping is still recorded: stop waits for the bookkeeping', async () => {
    const { earnings, peerId, entries } = await started()
    earnings.attemptSettled(ownAttempt('job-b', peerId))
    earnings.attemptSettled(ownAttempt('job-c', peerId))
    expect(entries()).toBe(0)
    await earnings.stop()
    expect(entries()).toBe(2)
  })

  it('a reader of the ledger sees what is queued at once', async () => {
    const { earnings, peerId, entries } = await started()
    try {
      for (let i = 0; i < 5; i++) earnings.attemptSettled(ownAttempt(`job-${i}`, peerId))
      expect(earnings.summary().servedForYou.jobs).toBe(5)
      expect(entries()).toBe(5)
      expect(earnings.verify().ok).toBe(true)
    } finally {
      await earnings.stop()
    }
  })

  it('a provider commits the receipt it signs before returning it for the final frame', async () => {
    const { earnings, entries } = await started()
    try {
      expect(earnings.settle(served('job-p'))?.providerSig).toBeTruthy()
      expect(entries()).toBe(1)
    } finally {
      await earnings.stop()
    }
  })
})
