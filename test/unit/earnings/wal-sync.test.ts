import { existsSync } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Signer } from '../../../electron/core/earnings/keys'
import { Ledger } from '../../../electron/core/earnings/ledger'
import { WalSync } from '../../../electron/core/earnings/wal-sync'
import { bothSigned, newSigner, tempDir } from './fixtures'

// The ledger commits with synchronous = NORMAL (no flush inside COMMIT, on the event loop) and flushes
// the log right after on the thread pool: these check that every kind of commit asks for that flush,
// that it is the log file that gets flushed, and that a burst of commits shares flushes.

let me: Signer
let peer: Signer
let dir: ReturnType<typeof tempDir>
let path: string

beforeAll(async () => {
  ;[me, peer] = await Promise.all([newSigner(), newSigner()])
})
beforeEach(() => {
  dir = tempDir()
  path = join(dir.dir, 'ledger.sqlite')
})
afterEach(() => dir.cleanup())

/** Opens files for real and counts the datasync calls made on each path. */
function watchedOpen(): { open: (path: string) => Promise<FileHandle>; syncs: Map<string, number> } {
  const syncs = new Map<string, number>()
  return {
    syncs,
    open: async (file) => {
      const handle = await open(file, 'r')
      const datasync = handle.datasync.bind(handle)
      handle.datasync = async () => {
        syncs.set(file, (syncs.get(file) ?? 0) + 1)
        return datasync()
      }
      return handle
    }
  }
}

/** A WalSync over a fake log file whose flush is `datasync`; what it reports lands in `errors`. */
function walSyncOver(datasync: () => Promise<void>): { sync: WalSync; errors: unknown[] } {
  const errors: unknown[] = []
  const handle = { datasync, close: async () => {} } as unknown as FileHandle
  return {
    sync: new WalSync(
      'x-wal',
      (err) => errors.push(err),
      async () => handle
    ),
    errors
  }
}

describe('the ledger flushes its log off the event loop', () => {
  it('does not flush inside COMMIT: the database runs with synchronous = NORMAL', () => {
    const ledger = Ledger.open(path, me)
    try {
      // 1 = NORMAL (2 = FULL flushed the log inside every COMMIT, on the event loop)
      expect(ledger.db.prepare('PRAGMA synchronous').get()).toEqual({ synchronous: 1 })
    } finally {
      ledger.close()
    }
  })

  it('flushes the log file after an append and after a batch', async () => {
    const watched = watchedOpen()
    const ledger = Ledger.open(path, me, { openWal: watched.open })
    try {
      ledger.append('receipt', 'earned', bothSigned(me, peer, { jobId: 'a' }))
      await ledger.durable()
      expect(existsSync(`${path}-wal`)).toBe(true)
      expect(watched.syncs.get(`${path}-wal`)).toBe(1)
      ledger.batch(() => {
        ledger.append('receipt', 'earned', bothSigned(me, peer, { jobId: 'b' }))
        ledger.append('receipt', 'earned', bothSigned(me, peer, { jobId: 'c' }))
      })
      await ledger.durable()
      // one transaction, one flush (the appends inside it were savepoints)
      expect(watched.syncs.get(`${path}-wal`)).toBe(2)
      expect([...watched.syncs.keys()]).toEqual([`${path}-wal`])
    } finally {
      ledger.close()
    }
  })

  it('shares one flush among the commits made while one runs, and retries after a failure', async () => {
    let release: () => void = () => {}
    let calls = 0
    const { sync, errors } = walSyncOver(async () => {
      calls++
      if (calls === 1) await new Promise<void>((r) => (release = r))
      if (calls === 2) throw new Error('disk said no')
    })
    sync.request()
    await new Promise((r) => setImmediate(r))
    for (let i = 0; i < 10; i++) sync.request()
    release()
    await sync.settled()
    // the first flush, then one for all ten commits made during it (which failed and was reported)
    expect(calls).toBe(2)
    expect(errors).toHaveLength(1)
    sync.request()
    await sync.settled()
    expect(calls).toBe(3)
    expect(sync.flushes).toBe(2)
    await sync.close()
    sync.request()
    await sync.settled()
    expect(calls).toBe(3)
  })

  it('reports a disk that keeps failing once, and again only after a flush has worked', async () => {
    let fail = true
    const { sync, errors } = walSyncOver(async () => {
      if (fail) throw new Error('disk said no')
    })
    for (let i = 0; i < 5; i++) {
      sync.request()
      await sync.settled()
    }
    expect(errors).toHaveLength(1)
    fail = false
    sync.request()
    await sync.settled()
    fail = true
    sync.request()
    await sync.settled()
    expect(errors).toHaveLength(2)
    await sync.close()
  })
})
