import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import type { ChallengeVerdict, ReportedSubject } from '../../../shared/reputation'
import { StatementCache } from '../util/statement-cache'

/** One thing this node experienced of a provider. `weight` > 0 is evidence for it, < 0 against. */
export interface Observation {
  peer: string
  /** ms since epoch */
  at: number
  kind: 'ok' | 'failed' | 'refused' | 'challenge'
  failure?: string
  verdict?: ChallengeVerdict
  weight: number
  ttftMs?: number
  /** Decode speed by this node's clock. */
  tokensPerSecond?: number
  detail?: string
  /** A challenge whose output was compared with a reference and matched. */
  crossChecked?: boolean
}

export interface StoredReport extends ReportedSubject {
  reporter: string
  at: number
}

export interface StoreLimits {
  /** Newest rows kept per provider. */
  rowsPerPeer: number
  /** Providers kept in total (the ones heard of least recently go first). */
  maxPeers: number
  /** Reporters whose latest summary is kept. */
  maxReporters: number
  /** Evidence older than this is deleted (by then its decayed weight is negligible). */
  maxAgeMs: number
}

export const DEFAULT_STORE_LIMITS: StoreLimits = {
  rowsPerPeer: 256,
  maxPeers: 2_000,
  maxReporters: 512,
  maxAgeMs: 14 * 24 * 3600_000
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS observations (
  id INTEGER PRIMARY KEY, peer TEXT NOT NULL, at INTEGER NOT NULL, kind TEXT NOT NULL, failure TEXT,
  verdict TEXT, weight REAL NOT NULL, ttft_ms REAL, tps REAL, detail TEXT, checked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS observations_peer_at ON observations (peer, at);
CREATE TABLE IF NOT EXISTS reporters (reporter TEXT PRIMARY KEY, seq INTEGER NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
  reporter TEXT NOT NULL, subject TEXT NOT NULL, at INTEGER NOT NULL, positive REAL NOT NULL,
  negative REAL NOT NULL, caught INTEGER NOT NULL, PRIMARY KEY (reporter, subject));`

/**
 * Durable evidence in SQLite (WAL): what this node observed of each provider and the latest summary
 * of each reporter. Every write is its own transaction, so a `kill -9` loses nothing committed.
 */
export class ObservationStore {
  private readonly db: DatabaseSync
  private readonly limits: StoreLimits
  private readonly statements: StatementCache

  constructor(path: string, limits: Partial<StoreLimits> = {}) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    this.db = new DatabaseSync(path)
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 2000;')
    this.db.exec(SCHEMA)
    this.statements = new StatementCache(this.db)
    this.limits = { ...DEFAULT_STORE_LIMITS, ...limits }
  }

  record(o: Observation): void {
    this.statement(
      'INSERT INTO observations (peer, at, kind, failure, verdict, weight, ttft_ms, tps, detail, checked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'
    ).run(
      o.peer,
      o.at,
      o.kind,
      o.failure ?? null,
      o.verdict ?? null,
      o.weight,
      o.ttftMs ?? null,
      o.tokensPerSecond ?? null,
      o.detail?.slice(0, 256) ?? null,
      o.crossChecked === true ? 1 : 0
    )
  }

  /** Every kept observation, oldest first. */
  observations(): Observation[] {
    const rows = this.statement(
      'SELECT peer, at, kind, failure, verdict, weight, ttft_ms, tps, detail, checked FROM observations ORDER BY at, id'
    ).all()
    return rows.map((r) => ({
      peer: String(r.peer),
      at: Number(r.at),
      kind: r.kind as Observation['kind'],
      weight: Number(r.weight),
      ...(r.failure !== null ? { failure: String(r.failure) } : {}),
      ...(r.verdict !== null ? { verdict: r.verdict as ChallengeVerdict } : {}),
      ...(r.ttft_ms !== null ? { ttftMs: Number(r.ttft_ms) } : {}),
      ...(r.tps !== null ? { tokensPerSecond: Number(r.tps) } : {}),
      ...(r.detail !== null ? { detail: String(r.detail) } : {}),
      ...(Number(r.checked) === 1 ? { crossChecked: true } : {})
    }))
  }

  /** The highest summary sequence number seen from each reporter (replay guard across restarts). */
  reporterSeqs(): Map<string, number> {
    const rows = this.statement('SELECT reporter, seq FROM reporters').all()
    return new Map(rows.map((r) => [String(r.reporter), Number(r.seq)]))
  }

  /** Replaces a reporter's summary with a newer one, in one transaction. */
  putReport(reporter: string, seq: number, at: number, subjects: ReportedSubject[]): void {
    this.transaction(() => {
      this.statement(
        'INSERT INTO reporters (reporter, seq, at) VALUES (?, ?, ?) ON CONFLICT (reporter) DO UPDATE SET seq = excluded.seq, at = excluded.at'
      ).run(reporter, seq, at)
      this.statement('DELETE FROM reports WHERE reporter = ?').run(reporter)
      const insert = this.statement(
        'INSERT OR REPLACE INTO reports (reporter, subject, at, positive, negative, caught) VALUES (?, ?, ?, ?, ?, ?)'
      )
      for (const s of subjects) insert.run(reporter, s.peer, at, s.positive, s.negative, s.caught === true ? 1 : 0)
    })
  }

  reports(): StoredReport[] {
    const rows = this.statement('SELECT reporter, subject, at, positive, negative, caught FROM reports').all()
    return rows.map((r) => ({
      reporter: String(r.reporter),
      peer: String(r.subject),
      at: Number(r.at),
      positive: Number(r.positive),
      negative: Number(r.negative),
      caught: Number(r.caught) === 1
    }))
  }

  /** Drops old evidence, then the oldest rows of busy providers, then the least recent providers. */
  compact(now: number): { deleted: number } {
    const { rowsPerPeer, maxPeers, maxReporters, maxAgeMs } = this.limits
    let deleted = 0
    this.transaction(() => {
      const cutoff = now - maxAgeMs
      deleted += Number(this.statement('DELETE FROM observations WHERE at < ?').run(cutoff).changes)
      deleted += Number(
        this.statement(
          `DELETE FROM observations WHERE id IN (SELECT id FROM (
        SELECT id, ROW_NUMBER() OVER (PARTITION BY peer ORDER BY at DESC, id DESC) AS n FROM observations) WHERE n > ?)`
        ).run(rowsPerPeer).changes
      )
      deleted += Number(
        this.statement(
          `DELETE FROM observations WHERE peer IN (
        SELECT peer FROM observations GROUP BY peer ORDER BY MAX(at) DESC LIMIT -1 OFFSET ?)`
        ).run(maxPeers).changes
      )
      this.statement('DELETE FROM reporters WHERE at < ?').run(cutoff)
      this.statement(
        'DELETE FROM reporters WHERE reporter IN (SELECT reporter FROM reporters ORDER BY at DESC LIMIT -1 OFFSET ?)'
      ).run(maxReporters)
      deleted += Number(
        this.statement('DELETE FROM reports WHERE at < ? OR reporter NOT IN (SELECT reporter FROM reporters)').run(
          cutoff
        ).changes
      )
    })
    return { deleted }
  }

  counts(): { observations: number; peers: number; reports: number } {
    const one = (sql: string): number => Number(this.statement(sql).get()?.n ?? 0)
    return {
      observations: one('SELECT COUNT(*) AS n FROM observations'),
      peers: one('SELECT COUNT(DISTINCT peer) AS n FROM observations'),
      reports: one('SELECT COUNT(*) AS n FROM reports')
    }
  }

  close(): void {
    this.statements.clear()
    if (this.db.isOpen) this.db.close()
  }

  private statement(sql: string): StatementSync {
    return this.statements.get(sql)
  }

  private transaction(work: () => void): void {
    this.db.exec('BEGIN IMMEDIATE')
    try {
      work()
      this.db.exec('COMMIT')
    } catch (err) {
      this.db.exec('ROLLBACK')
      throw err
    }
  }
}
