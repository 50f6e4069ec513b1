// What the soak watches on a long-lived node, read from outside: resident memory and V8 heap in use,
// open file descriptors (/proc/PID/fd), libp2p connections (its /api/status), and its SQLite databases
// (ledger, reputation: logical size, rows, WAL files). Also the containers Meshwork labelled for the soak.
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { promisify } from 'node:util'
import { memoryMB, metricsOf } from './node-metrics'
import { rssMB } from './proc-stats'
import type { BenchNode } from './routing-nodes'

const run = promisify(execFile)

/** The label the Docker runtime puts on each container it starts (runtime/docker/engine.ts). */
const LABEL_PEER = 'meshwork.peer'

export interface DbBytes {
  /** Logical sizes (pages x page size as a reader sees them, WAL content included). */
  ledger: number
  reputation: number
  /** The -wal and -shm files of both, on disk. */
  wal: number
  /** The largest single -wal file (each is checkpointed on its own). */
  walLargest: number
  /** Ledger entries and reputation observations: rows the bounds are about. */
  ledgerRows: number
  observationRows: number
}

export interface NodeSample {
  rssMB: number
  /** V8 heap in use and reserved, and memory outside it (Buffers), from the node's own /metrics. */
  heapUsedMB: number
  heapTotalMB: number
  /** The young generation's part of heapTotalMB. */
  newSpaceMB: number
  externalMB: number
  fds: number
  connections: number
  db: DbBytes
}

/** Open file descriptors of `pid` (NaN when it is gone). */
export function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length
  } catch {
    return Number.NaN
  }
}

/** A live database's logical size and the rows of one table, read through a short read-only connection. */
function inspect(file: string, table: string): { bytes: number; rows: number } {
  if (!existsSync(file)) return { bytes: 0, rows: 0 }
  const db = new DatabaseSync(file, { readOnly: true })
  try {
    const pages = db.prepare('PRAGMA page_count').get() as { page_count: number }
    const size = db.prepare('PRAGMA page_size').get() as { page_size: number }
    const rows = db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }
    return { bytes: pages.page_count * size.page_size, rows: rows.n }
  } catch {
    return { bytes: Number.NaN, rows: Number.NaN } // not created yet, or busy
  } finally {
    db.close()
  }
}

/** The ledger and reputation databases of a node's data dir, and their WAL files. */
export function dbBytes(dataDir: string): DbBytes {
  const ledger = inspect(join(dataDir, 'ledger.sqlite'), 'entries')
  const reputation = inspect(join(dataDir, 'reputation.sqlite'), 'observations')
  const out: DbBytes = {
    ledger: ledger.bytes,
    reputation: reputation.bytes,
    wal: 0,
    walLargest: 0,
    ledgerRows: ledger.rows,
    observationRows: reputation.rows
  }
  for (const name of readdirSync(dataDir)) {
    const match = /\.sqlite(-wal|-shm)$/.exec(name)
    if (!match) continue
    let size: number
    try {
      size = statSync(join(dataDir, name)).size
    } catch {
      continue // removed between the listing and the stat
    }
    if (match[1] === '-wal') out.walLargest = Math.max(out.walLargest, size)
    out.wal += size
  }
  return out
}

/** What the databases hold (logical sizes; the WAL is a reused journal, bounded on its own). */
export const dbTotal = (db: DbBytes): number => db.ledger + db.reputation

export async function sampleNode(node: BenchNode): Promise<NodeSample> {
  const status = await node.get('/api/status')
  const memory = memoryMB(await metricsOf(node))
  return {
    rssMB: rssMB(node.proc.pid!),
    heapUsedMB: memory.heapUsed,
    heapTotalMB: memory.heapTotal,
    newSpaceMB: memory.newSpace,
    externalMB: memory.external,
    fds: openFds(node.proc.pid!),
    connections: typeof status.connections === 'number' ? status.connections : Number.NaN,
    db: dbBytes(node.dataDir)
  }
}

/**
 * Containers (running or not) that Meshwork labelled with one of `peerIds`; other nodes on this
 * machine may share the engine, so only the soak's own peers count. NaN when Docker cannot be asked.
 */
export async function labelledContainers(peerIds: Set<string>): Promise<number> {
  try {
    const { stdout } = await run(
      'docker',
      ['ps', '-a', '--filter', `label=${LABEL_PEER}`, '--format', `{{.Label "${LABEL_PEER}"}}`],
      { timeout: 20_000 }
    )
    return stdout.split('\n').filter((peer) => peerIds.has(peer.trim())).length
  } catch {
    return Number.NaN
  }
}
