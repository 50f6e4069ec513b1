import type { DatabaseSync, StatementSync } from 'node:sqlite'

/**
 * Compiles each SQL statement once per open database. Compiling was most of the cost of a
 * one-row insert, and the stores run one or more of those per routed request.
 */
export class StatementCache {
  private readonly statements = new Map<string, StatementSync>()

  constructor(private readonly db: DatabaseSync) {}

  get(sql: string): StatementSync {
    let statement = this.statements.get(sql)
    if (statement === undefined) this.statements.set(sql, (statement = this.db.prepare(sql)))
    return statement
  }

  /** Forgets every statement; call before closing the database. */
  clear(): void {
    this.statements.clear()
  }
}
