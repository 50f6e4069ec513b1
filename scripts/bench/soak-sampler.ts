// What the soak watches on a long-lived node, read from outside: resident memory, open file
// descriptors (/proc/PID/fd), libp2p connections (its /api/status), and the size of its SQLite files
// (ledger, reputation, their WAL). Also the Docker containers Meshwork labelled for the soak's peers.
import { execFile } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { rssMB } from './proc-stats'
import type { BenchNode } from './routing-nodes'

const run = promisify(execFile)

/** The label the Docker runtime puts on each container it starts (runtime/docker/engine.ts). */
const LABEL_PEER = 'meshwork.peer'

export interface DbBytes {
  ledger: number
  reputation: number
  /** The -wal and -shm files of both. */
  wal: number
  /** The largest single -wal file (each is checkpointed on its own). */
  walLargest: number
}

export interface NodeSample {
  rssMB: number
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

/** Sizes of the SQLite files at the top of a node's data dir. */
export function dbBytes(dataDir: string): DbBytes {
  const out: DbBytes = { ledger: 0, reputation: 0, wal: 0, walLargest: 0 }
  for (const name of readdirSync(dataDir)) {
    const match = /^(.+)\.sqlite(-wal|-shm)?$/.exec(name)
    if (!match) continue
    let size: number
    try {
      size = statSync(join(dataDir, name)).size
    } catch {
      continue // removed between the listing and the stat (a checkpoint)
    }
    if (match[2] === '-wal') out.walLargest = Math.max(out.walLargest, size)
    if (match[2] !== undefined) out.wal += size
    else if (match[1] === 'ledger') out.ledger += size
    else if (match[1] === 'reputation') out.reputation += size
  }
  return out
}

export const dbTotal = (db: DbBytes): number => db.ledger + db.reputation + db.wal

export async function sampleNode(node: BenchNode): Promise<NodeSample> {
  const status = await node.get('/api/status')
  return {
    rssMB: rssMB(node.proc.pid!),
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
